/**
 * electron-vite build of the three Electron pieces: main (ESM), preload (CommonJS: sandboxed preloads cannot
 * load ES modules, nor anything from node_modules, so it is bundled whole) and the renderer (shared with the
 * renderer-only build in renderer/vite.config.ts).
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'electron-vite'
import { rendererConfig } from './renderer/vite.config'

const path = (p: string) => fileURLToPath(new URL(p, import.meta.url))

export default defineConfig({
  main: {
    build: {
      outDir: path('out/main'),
      lib: {
        // The TFTP session worker is its own entry: tftp/session-pool.ts loads tftp-session-worker.js beside it.
        entry: {
          index: path('electron/main/index.ts'),
          'tftp-session-worker': path('electron/core/boot/tftp/session-worker.ts'),
        },
        formats: ['es'],
        fileName: (_format, name) => `${name}.js`,
      },
    },
  },
  preload: {
    build: {
      outDir: path('out/preload'),
      externalizeDeps: false,
      lib: { entry: path('electron/preload/index.ts'), formats: ['cjs'], fileName: () => 'index.cjs' },
    },
  },
  renderer: rendererConfig(),
})
