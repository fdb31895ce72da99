/**
 * Rackboot's TFTP and/or HTTP file servers as one bench process, run inside the server namespace:
 *   ip netns exec rbbt-srv node --import tsx bench/lib/serve-ours.ts --host 198.18.40.1 --tftp-root DIR
 * Prints `serve-ours ready {json}` once listening; SIGTERM/SIGINT close both and exit 0.
 */
import { parseArgs } from 'node:util'
import { startProvisioningServer, type ProvisioningResolver } from '../../electron/core/boot/http/server'
import { diskProvider } from '../../electron/core/boot/tftp/files'
import { startTftpServer } from '../../electron/core/boot/tftp/server'
import { stderrLogger } from '../../electron/core/util/logger'

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '0.0.0.0' },
    'tftp-root': { type: 'string' },
    'tftp-port': { type: 'string', default: '69' },
    'max-blksize': { type: 'string', default: '1468' },
    'max-windowsize': { type: 'string', default: '64' },
    'max-transfers': { type: 'string', default: '256' },
    'http-root': { type: 'string' },
    'http-port': { type: 'string', default: '8080' },
    /** Unset: the server's default. */
    'sendfile-threads': { type: 'string' },
    /** TFTP session worker threads; unset: the server's default, 0: in-process. */
    'tftp-workers': { type: 'string' },
  },
})

/** The bench serves only /files/*: no nodes, no images. */
const noNodes: ProvisioningResolver = {
  nodeByMac: () => null,
  artifact: async () => null,
  unknownNodePolicy: () => 'wait',
  status: () => ({}),
}

const logger = stderrLogger('serve-ours')
const closers: (() => Promise<void>)[] = []
const ready: Record<string, string> = { pid: String(process.pid) }

if (values['tftp-root']) {
  const tftp = await startTftpServer({
    host: values.host,
    port: Number(values['tftp-port']),
    provider: diskProvider(values['tftp-root']),
    maxBlksize: Number(values['max-blksize']),
    maxWindowsize: Number(values['max-windowsize']),
    maxTransfers: Number(values['max-transfers']),
    ...(values['tftp-workers'] ? { workers: Number(values['tftp-workers']) } : {}),
    logger: { ...logger, info: () => {} },
  })
  closers.push(() => tftp.close())
  ready.tftp = `${tftp.address.host}:${tftp.address.port}`
}
if (values['http-root']) {
  const http = await startProvisioningServer({
    host: values.host,
    port: Number(values['http-port']),
    resolver: noNodes,
    filesRoot: values['http-root'],
    ...(values['sendfile-threads'] ? { sendfileThreads: Number(values['sendfile-threads']) } : {}),
    logger: { ...logger, info: () => {} },
  })
  closers.push(() => http.close())
  ready.http = http.url
}

let stopping = false
const stop = () => {
  if (stopping) return
  stopping = true
  void Promise.all(closers.map((c) => c())).finally(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdout.write(`serve-ours ready ${JSON.stringify(ready)}\n`)
