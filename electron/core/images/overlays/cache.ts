/**
 * Per-node overlay files under <root>/<node>/{system,runtime}.cpio.gz, rebuilt only when their inputs change:
 * a sidecar <kind>.json keeps the sha256 of the inputs (and the runtime generation). Host keys live beside
 * them in <root>/<node>/hostkeys/ and are never regenerated. Concurrent requests for one file share a build.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { silentLogger, type Logger } from '../../util/logger'
import { RackbootError } from '../../util/result'
import { INIT_SCRIPT } from '../bootstrap/init-script'
import { AGENT_SCRIPT } from '../bootstrap/agent-script'
import { ensureHostKey, type KeyGenerator } from './hostkeys'
import { writeOverlay } from './render'
import { type OverlayInputs, runtimeOverlayEntries, systemOverlayEntries } from './templates'

export type OverlayKind = 'system' | 'runtime'

/** Bump when the layout of an overlay changes, so every cached file is rebuilt once (2: runtime files). */
const FORMAT = 2

interface Sidecar {
  hash: string
  generation: number
}

export interface OverlayCacheOptions {
  /** <dataDir>/overlays */
  root: string
  /**
   * Host key generator; default 'node' (in-process node:crypto): a first-boot storm of 200 nodes would
   * otherwise spawn 200 ssh-keygen processes on the request path (bench/RESULTS.md, "Boot storm").
   */
  keyGenerator?: KeyGenerator
  now?: () => Date
  logger?: Logger
}

export class OverlayCache {
  private readonly inflight = new Map<string, Promise<string>>()
  /**
   * Per node file, the inputs it was last built or checked with in this process. The same inputs again (every
   * fetch of an unchanged node) then cost one stat instead of a mkdir, the host key reads, the sidecar read and
   * a stat in the thread pool, which a storm's journal fdatasyncs and timeline writes keep busy: the system
   * overlay is a node's last fetch, so its wait is the storm's tail.
   */
  private readonly checked = new Map<string, string>()
  private readonly now: () => Date
  private readonly logger: Logger

  constructor(private readonly opts: OverlayCacheOptions) {
    this.now = opts.now ?? (() => new Date())
    this.logger = opts.logger ?? silentLogger
  }

  /** Path of the node's up-to-date overlay of `kind`, building it first when its inputs changed. */
  async path(kind: OverlayKind, inputs: OverlayInputs): Promise<string> {
    const key = `${inputs.node.name}/${kind}`
    // Chain on a running build for the same file: the second caller sees the first one's result.
    const previous = this.inflight.get(key) ?? Promise.resolve('')
    const next = previous.catch(() => '').then(() => this.build(kind, inputs, key))
    this.inflight.set(key, next)
    try {
      return await next
    } finally {
      if (this.inflight.get(key) === next) this.inflight.delete(key)
    }
  }

  /** The directory of one node's files (host keys included). */
  nodeDir(node: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/.test(node))
      throw new RackbootError(`overlay: '${node}' is not a valid node name`, 'bad-request')
    return join(this.opts.root, node)
  }

  /** `key`: the node file's name in `inflight` and `checked`. */
  private async build(kind: OverlayKind, inputs: OverlayInputs, key: string): Promise<string> {
    const dir = this.nodeDir(inputs.node.name)
    const file = join(dir, `${kind}.cpio.gz`)
    const seen = JSON.stringify(kind === 'system' ? inputs : runtimeInputs(inputs))
    if (this.checked.get(key) === seen && (await exists(file))) return file
    this.checked.delete(key)
    const built = await this.buildFile(kind, inputs, dir, file)
    this.checked.set(key, seen)
    return built
  }

  private async buildFile(
    kind: OverlayKind,
    inputs: OverlayInputs,
    dir: string,
    file: string,
  ): Promise<string> {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const sidecarPath = join(dir, `${kind}.json`)
    const hostKeys =
      kind === 'system'
        ? [
            await ensureHostKey(
              join(dir, 'hostkeys'),
              `root@${inputs.node.name}`,
              this.opts.keyGenerator ?? 'node',
            ),
          ]
        : []
    const hash = createHash('sha256')
      .update(
        JSON.stringify({
          FORMAT,
          kind,
          inputs: kind === 'system' ? inputs : runtimeInputs(inputs),
          scripts: kind === 'system' ? [INIT_SCRIPT, AGENT_SCRIPT] : [],
          hostKeys: hostKeys.map((k) => k.publicKey),
        }),
      )
      .digest('hex')
    const old = await readSidecar(sidecarPath)
    if (old?.hash === hash && (await exists(file))) return file

    const now = this.now()
    const generation = (old?.generation ?? 0) + 1
    const entries =
      kind === 'system'
        ? systemOverlayEntries(inputs, hostKeys)
        : runtimeOverlayEntries(inputs, { generation, renderedAt: now.toISOString() })
    await writeOverlay(file, entries, Math.floor(now.getTime() / 1000))
    const tmp = `${sidecarPath}.tmp`
    await writeFile(tmp, `${JSON.stringify({ hash, generation } satisfies Sidecar)}\n`, { mode: 0o600 })
    await rename(tmp, sidecarPath)
    this.logger.info(`overlay: built ${kind} for ${inputs.node.name} (generation ${generation})`)
    return file
  }
}

/** Only what the runtime overlay shows: a change elsewhere must not bump its generation. */
function runtimeInputs(i: OverlayInputs): unknown {
  return { node: i.node.name, overlays: i.runtimeOverlays, files: i.runtimeFiles }
}

async function readSidecar(path: string): Promise<Sidecar | null> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as Partial<Sidecar>
    return typeof v.hash === 'string' && typeof v.generation === 'number'
      ? { hash: v.hash, generation: v.generation }
      : null
  } catch {
    return null
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}
