/**
 * The renderer's Content Security Policy. Pure (no Electron import): the renderer's Vite config puts it in
 * index.html as a meta tag (file: pages get no response headers), and main also sends it as a header for
 * pages served over http in development.
 */
export interface CspOptions {
  /** Vite's dev server injects styles inline and talks HMR over a WebSocket. */
  dev: boolean
}

export function contentSecurityPolicy(options: CspOptions): string {
  const directives: [string, ...string[]][] = [
    ['default-src', "'self'"],
    ['script-src', "'self'"],
    ['style-src', "'self'", ...(options.dev ? ["'unsafe-inline'"] : [])],
    ['img-src', "'self'", 'data:'],
    ['font-src', "'self'"],
    // 'self' covers the headless UI's same-origin WebSocket in current Chromium (CSP Level 3).
    ['connect-src', "'self'", ...(options.dev ? ['ws:'] : [])],
    ['object-src', "'none'"],
    ['base-uri', "'none'"],
    ['form-action', "'none'"],
    ['frame-src', "'none'"],
    ['worker-src', "'none'"],
  ]
  return directives.map((d) => d.join(' ')).join('; ')
}
