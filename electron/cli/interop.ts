/**
 * `rackboot export …` and `rackboot import …`: files in and out, everything else through the contract
 * (export/render, import/warewulf, import/macs), so the commands work alone and next to a running serve.
 */
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { type Command, Option } from 'commander'
import type { MacListOutcome } from '../core/interop/vendor-apply'
import type { ImagesExported } from '../core/interop/oci-export'
import type { NodeImportOutcome } from '../core/interop/warewulf-apply'
import { WAREWULF_NODES_FILE, writeWarewulfExport } from '../core/interop/write'
import { ensureDir, writeFileAtomic } from '../core/inventory/durable-file'
import type { Logger } from '../core/util/logger'
import { RackbootError, errorMessage } from '../core/util/result'
import { type CliIo, UsageError } from './io'
import { openSession, type ContractSession } from './session'

export interface InteropCliContext {
  io: CliIo
  logger: Logger
  /** The shared `--data-dir` option (with its env default), made fresh for each command. */
  dataDirOption: () => Option
}

/** The node map for `wwctl node import`, written beside nodes.conf. */
export const WAREWULF_NODE_IMPORT_FILE = 'nodes.import.yaml'
export const WAREWULF_README_FILE = 'README.md'
/** Beside nodes.conf: one docker-archive tar per image the nodes use. */
export const WAREWULF_IMAGES_DIR = 'images'

const TEXT_FORMATS = ['csv', 'hosts', 'dnsmasq', 'dhcpd', 'ansible', 'json'] as const
type TextFormat = (typeof TEXT_FORMATS)[number]
const TEXT_FORMAT_HELP: Record<TextFormat, string> = {
  csv: 'rack, slot, name, MACs, IPv4, serial (RFC 4180, for spreadsheets)',
  hosts: '/etc/hosts lines, rack order',
  dnsmasq: 'dnsmasq dhcp-host= lines (for /etc/dnsmasq.d/)',
  dhcpd: 'ISC dhcpd host declarations',
  ansible: 'Ansible YAML inventory, one group per rack',
  json: 'the whole inventory as JSON (the store schema)',
}

/**
 * Adds `export` and `import` to the program. Also turns on commander's positional options: without it the
 * root's `-V, --version` would swallow `export warewulf --version 4.5`; with it, root options count only
 * before the subcommand (`rackboot --version` still prints the version).
 */
export function registerInteropCommands(program: Command, ctx: InteropCliContext): void {
  const { io } = ctx
  program.enablePositionalOptions()
  const withSession = async <T>(dataDir: string, use: (s: ContractSession) => Promise<T>): Promise<T> => {
    const session = await openSession(resolve(dataDir), ctx.logger)
    try {
      return await use(session)
    } finally {
      await session.close()
    }
  }

  const exp = program
    .command('export')
    .description(
      'write the inventory for other tools: Warewulf, spreadsheets, hosts, dnsmasq, dhcpd, Ansible',
    )
  exp
    .command('warewulf')
    .description(
      `write DIR/${WAREWULF_NODES_FILE}, DIR/${WAREWULF_NODE_IMPORT_FILE}, DIR/${WAREWULF_IMAGES_DIR}/<image>.tar and DIR/README.md (the wwctl steps)`,
    )
    .requiredOption('--out <dir>', 'directory to write into (created if missing)')
    .addOption(
      new Option('--version <version>', 'Warewulf nodes.conf dialect').choices(['4.5', '4.6']).default('4.6'),
    )
    .addOption(ctx.dataDirOption())
    .action(async (o: { out: string; version: '4.5' | '4.6'; dataDir: string }) => {
      const dir = resolve(o.out)
      // The archives are files, so the core writes them: in this process when it opened the store itself,
      // in the running serve otherwise (same machine, absolute path).
      const [conf, nodeMap, nodes, images] = await withSession(o.dataDir, async (s) => [
        (await s.call('export/render', { format: 'warewulf', version: o.version })).text,
        (await s.call('export/render', { format: 'warewulf', version: o.version, form: 'node-import' })).text,
        (await s.call('nodes/list', {})).length,
        await s.call('export/images', { dir: join(dir, WAREWULF_IMAGES_DIR) }),
      ])
      const file = await writeOut(dir, () => writeWarewulfExport(dir, conf))
      await writeOut(dir, () => writeFileAtomic(join(dir, WAREWULF_NODE_IMPORT_FILE), nodeMap))
      await writeOut(dir, () =>
        writeFileAtomic(join(dir, WAREWULF_README_FILE), warewulfReadme(o.version, nodes, images)),
      )
      for (const w of images.written) io.stdout(`wrote ${w.path} (image '${w.name}', ${w.bytes} bytes)\n`)
      for (const k of images.skipped) io.stderr(`warning: image '${k.name}' not exported: ${k.reason}\n`)
      io.stdout(
        `wrote ${file} (${nodes} node${nodes === 1 ? '' : 's'}, Warewulf ${o.version}), ${join(dir, WAREWULF_NODE_IMPORT_FILE)} and ${join(dir, WAREWULF_README_FILE)}\n` +
          `next: read ${join(dir, WAREWULF_README_FILE)} for the wwctl steps on the Warewulf server\n`,
      )
    })
  for (const format of TEXT_FORMATS)
    exp
      .command(format)
      .description(`${TEXT_FORMAT_HELP[format]}; to stdout unless --out`)
      .option('--out <file>', 'write to FILE (replaced whole) instead of stdout')
      .addOption(ctx.dataDirOption())
      .action(async (o: { out?: string; dataDir: string }) => {
        const { text } = await withSession(o.dataDir, (s) => s.call('export/render', { format }))
        if (o.out === undefined) return io.stdout(text)
        const file = resolve(o.out)
        await writeOut(dirname(file), async () => {
          await ensureDir(dirname(file))
          await writeFileAtomic(file, text)
        })
        io.stderr(`wrote ${file}\n`)
      })

  const imp = program
    .command('import')
    .description('bring nodes in from Warewulf, or MACs from a vendor list')
  imp
    .command('warewulf <file>')
    .description(
      'add the nodes of a Warewulf nodes.conf (4.5 or 4.6) or `wwctl node import` map; all or nothing, every problem listed',
    )
    .option('--dry-run', 'check everything and show what would change; save nothing')
    .option('--replace', 'replace existing nodes of the same name instead of refusing')
    .addOption(ctx.dataDirOption())
    .action(async (file: string, o: { dryRun?: boolean; replace?: boolean; dataDir: string }) => {
      const text = await readInput(file)
      const r = await withSession(o.dataDir, (s) =>
        s.call('import/warewulf', { text, dryRun: Boolean(o.dryRun), replace: Boolean(o.replace) }),
      )
      for (const w of r.warnings) io.stderr(`warning: ${w}\n`)
      io.stdout(formatNodeImport(r))
    })
  imp
    .command('macs <file>')
    .description(
      "put a vendor's MAC list (one per line, or CSV with a MAC column) on the empty planned slots, in rack order",
    )
    .option('--dry-run', 'show which MAC would go to which slot; save nothing')
    .option('--force', 'assign what matched even when some lines have problems (they are listed)')
    .addOption(ctx.dataDirOption())
    .action(async (file: string, o: { dryRun?: boolean; force?: boolean; dataDir: string }) => {
      const text = await readInput(file)
      const r = await withSession(o.dataDir, (s) =>
        s.call('import/macs', { text, dryRun: Boolean(o.dryRun), force: Boolean(o.force) }),
      )
      for (const p of r.problems) io.stderr(`warning: ${p}\n`)
      io.stdout(formatMacImport(r))
    })
}

async function readInput(file: string): Promise<string> {
  if (file === '') throw new UsageError('the FILE argument is empty')
  const path = resolve(file)
  try {
    return await readFile(path, 'utf8')
  } catch (e) {
    throw new RackbootError(`cannot read ${path}: ${errorMessage(e)}`)
  }
}

async function writeOut<T>(dir: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (e) {
    throw new RackbootError(`cannot write the export into ${dir}: ${errorMessage(e)}; choose another --out`)
  }
}

/** Names for one summary line: all of a short list; of a long one the first few and how many more. */
export function nameList(names: string[], max = 12): string {
  if (names.length <= max) return names.join(', ')
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`
}

function formatNodeImport(r: NodeImportOutcome): string {
  const names = (list: { name: string }[]) => nameList(list.map((x) => x.name))
  const n = r.nodes.length
  const lines = [
    `${r.dryRun ? 'dry run, nothing saved: would import' : 'imported'} ${n} node${n === 1 ? '' : 's'}${n > 0 ? ` (${names(r.nodes)})` : ''}`,
  ]
  if (r.racks.length > 0)
    lines.push(`${r.dryRun ? 'would create' : 'created'} ${r.racks.length} rack(s): ${names(r.racks)}`)
  if (r.replaced.length > 0)
    lines.push(
      `${r.dryRun ? 'would replace' : 'replaced'} ${r.replaced.length} node(s): ${nameList(r.replaced)}`,
    )
  if (r.warnings.length > 0) lines.push(`${r.warnings.length} warning(s) above`)
  return lines.join('\n') + '\n'
}

function formatMacImport(r: MacListOutcome): string {
  const lines = r.assignments.map(
    (a) =>
      `${a.rack ?? '-'}/${a.slot ?? '-'}  ${a.node}  ${a.mac}${a.serial !== null ? `  serial ${a.serial}` : ''}  (line ${a.line})`,
  )
  const n = r.assignments.length
  lines.push(
    `${r.dryRun ? 'dry run, nothing saved: would assign' : 'assigned'} ${n} MAC${n === 1 ? '' : 's'}; ${r.emptyLeft} empty planned slot(s) left`,
  )
  return lines.join('\n') + '\n'
}

/** What to do on the Warewulf server with the files written beside this README. */
export function warewulfReadme(
  version: '4.5' | '4.6',
  nodes: number,
  images: ImagesExported = { written: [], skipped: [] },
): string {
  const noun = version === '4.6' ? 'image' : 'container'
  const imported = images.written.map(
    (w) => `       wwctl ${noun} import docker-archive:${WAREWULF_IMAGES_DIR}/${w.name}.tar ${w.name}`,
  )
  const fileRows = images.written.map(
    (w) =>
      `| \`${WAREWULF_IMAGES_DIR}/${w.name}.tar\` | image \`${w.name}\` as a docker-archive (one layer; sha256 \`${w.sha256}\`) |`,
  )
  const skipped = images.skipped.map((k) => `   - \`${k.name}\`: ${k.reason}`)
  const imageStep =
    images.written.length === 0 && images.skipped.length === 0
      ? `1. No node names an image, so none were exported.`
      : [
          ...(images.written.length > 0
            ? [
                `1. Import the images first (from this directory; Warewulf ${version} calls them ${noun}s):`,
                '',
                ...imported,
                '',
                `   Each archive holds the image's root file system with its kernel (\`/boot/vmlinuz-<version>\`) and`,
                `   modules (\`/lib/modules/<version>\`), where Warewulf looks for them.`,
                version === '4.6'
                  ? '   Check with `wwctl image list` and `wwctl image kernels`; if the import did not build the image,\n   run `wwctl image build <name>`.'
                  : '   Check with `wwctl container list`; if the import did not build the container,\n   run `wwctl container build <name>`.',
              ]
            : ['1. No image was exported.']),
          ...(skipped.length > 0
            ? [
                '',
                '   Not exported (the nodes naming these will not boot until the server has them):',
                '',
                ...skipped,
              ]
            : []),
        ].join('\n')
  return `# Warewulf hand-off from Rackboot

Written by \`rackboot export warewulf\` for Warewulf ${version}: ${nodes} node${nodes === 1 ? '' : 's'}, in rack order.
Each node carries its rack placement as tags \`rack\`, \`slot\` (and \`height\`), so a later
\`rackboot import warewulf\` puts it back in the same slot.

| file | what it is |
| --- | --- |
| \`${WAREWULF_NODES_FILE}\` | a whole Warewulf nodes.conf: profile \`default\` (what the nodes share: kernel args, netmask, gateway) and the nodes |
| \`${WAREWULF_NODE_IMPORT_FILE}\` | the same nodes as the bare node map \`wwctl node import\` reads, each carrying its own settings |
${fileRows.map((r) => r + '\n').join('')}
## On the Warewulf server

Copy this whole directory to the Warewulf server and run the commands from inside it.

${imageStep}

2. Bring the nodes in, one of:
   - add them to the nodes the server already has:

         wwctl node import ${WAREWULF_NODE_IMPORT_FILE}

     (\`wwctl node import\` reads a map of nodes, not a whole nodes.conf; the nodes name profile
     \`default\`, so the server's own \`default\` profile applies to them as well.)
   - or, on a server that should have exactly these nodes, replace its node database:

         cp /etc/warewulf/nodes.conf /etc/warewulf/nodes.conf.before-rackboot
         cp ${WAREWULF_NODES_FILE} /etc/warewulf/nodes.conf

     (this also replaces the server's \`default\` profile with the one above.)

3. Check the result: \`wwctl node list -a\`.
4. Rebuild the overlays for the new nodes:

       wwctl overlay build

5. Regenerate the services Warewulf configures (DHCP, TFTP, /etc/hosts, NFS, SSH keys):

       wwctl configure --all
`
}
