/**
 * The interop channels of the contract (export/render, import/warewulf, import/macs) over the inventory repo.
 * Text in, text out: files are the caller's business, so the CLI and a running serve behave the same.
 */
import type { Handlers } from '../../ipc/contract'
import type { InventoryRepo } from '../inventory/repo'
import { RackbootError } from '../util/result'
import { exporters } from './exports'
import { exportWarewulf, importWarewulf } from './warewulf'
import { parseVendorMacList } from './vendor-macs'
import { ProblemListError, formatImportProblem, plural } from './problems'

export type InteropChannel = 'export/render' | 'import/warewulf' | 'import/macs'

export function createInteropHandlers(repo: InventoryRepo): Pick<Handlers, InteropChannel> {
  return {
    'export/render': async (req) => {
      if (req.format === 'warewulf')
        return { text: exportWarewulf(repo.db, { version: req.version ?? '4.6', form: req.form }) }
      const misplaced = req.version !== undefined ? 'version' : req.form !== undefined ? 'form' : null
      if (misplaced !== null)
        throw new RackbootError(
          `'${misplaced}' applies to the warewulf format only, not '${req.format}'`,
          'bad-request',
        )
      return { text: exporters[req.format](repo.db) }
    },
    'import/warewulf': async (req) => {
      // The subnet check keeps out addresses the boot stack could not serve.
      const parsed = importWarewulf(req.text, { subnet: repo.settings().subnet })
      if (!parsed.ok)
        throw new ProblemListError(
          `nodes.conf not imported, nothing was saved: ${plural(parsed.error.length, 'problem')}`,
          parsed.error.map(formatImportProblem),
        )
      return repo.importNodes(parsed.value, { replace: req.replace, dryRun: req.dryRun })
    },
    'import/macs': async (req) =>
      repo.assignVendorMacs(parseVendorMacList(req.text), { dryRun: req.dryRun, force: req.force }),
  }
}
