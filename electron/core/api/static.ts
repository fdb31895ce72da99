/**
 * Serves the built renderer (a single-page app) from one directory and nothing outside it. Paths are checked
 * before and after symlinks are resolved; routes without a file extension fall back to index.html so the
 * app's router can take them.
 */
import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, isAbsolute, join, relative, sep } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Logger } from '../util/logger'
import { type Result, ok, err } from '../util/result'
import { BASE_HEADERS } from './headers'

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
}

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'
}

export type StaticTarget = { file: string; spa: boolean }
export type StaticRefusal = { status: 400 | 403 | 404; message: string }

/**
 * Maps a raw request path (as sent, still percent-encoded, without query) to a file under `root`, which must
 * already be a real path. Refuses `..` segments, NUL and backslashes in any spelling, dotfiles, and symlinks
 * that lead outside the root.
 */
export async function resolveStaticPath(
  root: string,
  rawPath: string,
): Promise<Result<StaticTarget, StaticRefusal>> {
  let decoded: string
  try {
    decoded = decodeURIComponent(rawPath)
  } catch {
    return err({ status: 400, message: 'malformed percent-encoding in path' })
  }
  if (!decoded.startsWith('/')) return err({ status: 400, message: 'path must start with /' })
  if (decoded.includes('\0')) return err({ status: 400, message: 'NUL in path' })
  if (decoded.includes('\\')) return err({ status: 400, message: 'backslash in path' })
  const segments = decoded.split('/').filter((s) => s !== '' && s !== '.')
  if (segments.includes('..')) return err({ status: 400, message: "'..' in path" })
  if (segments.some((s) => s.startsWith('.'))) return err({ status: 404, message: 'not found' })

  const index = join(root, 'index.html')
  if (segments.length === 0) return ok({ file: index, spa: true })
  const candidate = join(root, ...segments)
  if (!inside(root, candidate)) return err({ status: 400, message: 'path escapes the root' })

  let real: string
  try {
    real = await realpath(candidate)
  } catch {
    // An app route (no extension) belongs to the SPA router; a missing asset is a real 404, never HTML.
    if (extname(segments[segments.length - 1]!) === '') return ok({ file: index, spa: true })
    return err({ status: 404, message: 'not found' })
  }
  if (!inside(root, real)) return err({ status: 403, message: 'path leads outside the root' })
  const info = await stat(real).catch(() => null)
  if (!info?.isFile()) return err({ status: 404, message: 'not found' })
  return ok({ file: real, spa: real === index })
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))
}

export interface StaticSite {
  serve(req: IncomingMessage, res: ServerResponse, rawPath: string): Promise<void>
}

/** `root` must be a real path (resolve it once at start-up, so a missing build fails early). */
export function staticSite(root: string, csp: string, logger: Logger): StaticSite {
  return {
    async serve(req, res, rawPath) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, {
          ...BASE_HEADERS,
          Allow: 'GET, HEAD',
          'Content-Type': 'text/plain; charset=utf-8',
        })
        res.end('method not allowed\n')
        return
      }
      const target = await resolveStaticPath(root, rawPath)
      if (!target.ok) {
        res.writeHead(target.error.status, { ...BASE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' })
        res.end(`${target.error.message}\n`)
        return
      }
      const { file, spa } = target.value
      const info = await stat(file).catch(() => null)
      if (!info?.isFile()) {
        // Only reachable when index.html is missing from the build.
        res.writeHead(404, { ...BASE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' })
        res.end(`the UI build under ${root} has no index.html\n`)
        return
      }
      res.writeHead(200, {
        ...BASE_HEADERS,
        'Content-Type': contentTypeOf(file),
        'Content-Length': String(info.size),
        'Content-Security-Policy': csp,
        // index.html names the hashed assets of this build: never reuse a stale one.
        'Cache-Control': spa ? 'no-store' : 'no-cache',
      })
      if (req.method === 'HEAD') {
        res.end()
        return
      }
      try {
        await pipeline(createReadStream(file), res)
      } catch (e) {
        // The client went away mid-file, or the file vanished; the response is already committed.
        logger.warn(`api: serving ${file} stopped: ${e instanceof Error ? e.message : String(e)}`)
        res.destroy()
      }
    },
  }
}
