/** Small replies: one line of text saying what was wrong (iPXE prints it on the console as-is). */
import type { ServerResponse } from 'node:http'

export function replyText(
  res: ServerResponse,
  status: number,
  line: string,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = `${line.replace(/[\r\n]+/g, ' ')}\n`
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...extra,
  })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}

export function replyBody(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}
