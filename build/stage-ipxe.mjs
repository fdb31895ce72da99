// Stages the iPXE binaries Rackboot serves into resources/ipxe, from Debian's `ipxe` package, with their
// licence (Debian's copyright file + the GPL-2 text) and a written source offer (GPLv2 §3(b)).
// Usage: node build/stage-ipxe.mjs [--from /usr/lib/ipxe] [--to resources/ipxe]
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

/** What the DHCP policy hands out (electron/core/boot/dhcp/pxe.ts): BIOS, UEFI x64, UEFI with the firmware's NIC driver. */
export const IPXE_FILES = ['undionly.kpxe', 'ipxe.efi', 'snponly.efi']

const DEBIAN_COPYRIGHT = '/usr/share/doc/ipxe/copyright'
const GPL2_TEXT = '/usr/share/common-licenses/GPL-2'

function debianVersion() {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', 'ipxe'], { encoding: 'utf8' }).trim()
  } catch {
    return 'unknown (dpkg-query failed)'
  }
}

export function sourceOffer(version) {
  return `iPXE binaries shipped with Rackboot
===================================

The files ${IPXE_FILES.join(', ')} in this directory are unmodified binaries of iPXE
(https://ipxe.org), taken from the Debian package "ipxe", version ${version}.
iPXE is free software, licensed under the GNU General Public License version 2 (or later, for
most files); see COPYING (the GPL-2 text) and COPYRIGHT (per-file licences) next to this file.

Source code: the complete corresponding source is the Debian source package "ipxe" ${version},
available from https://snapshot.debian.org/package/ipxe/${encodeURIComponent(version)}/ and with
\`apt-get source ipxe=${version}\`. Upstream: https://github.com/ipxe/ipxe.

Written offer (GPLv2 section 3(b)): for at least three years from the date you received this
copy of Rackboot, the Rackboot maintainers will give any third party, on request and for no more
than the cost of physically performing the transfer, a complete machine-readable copy of that
source code. Ask via the issue tracker of the Rackboot project.
`
}

/** Copies the binaries and writes COPYING, COPYRIGHT and SOURCE-OFFER.txt; throws with the fix if a file is missing. */
export async function stageIpxe({ from = '/usr/lib/ipxe', to } = {}) {
  const missing = IPXE_FILES.filter((f) => !existsSync(join(from, f)))
  if (missing.length > 0)
    throw new Error(
      `stage-ipxe: ${missing.join(', ')} not found in ${from}: install Debian's iPXE (apt-get install ipxe)`,
    )
  for (const f of [DEBIAN_COPYRIGHT, GPL2_TEXT])
    if (!existsSync(f)) throw new Error(`stage-ipxe: ${f} missing: install ipxe and base-files`)
  await mkdir(to, { recursive: true })
  for (const f of IPXE_FILES) await copyFile(join(from, f), join(to, f))
  await writeFile(join(to, 'COPYING'), await readFile(GPL2_TEXT))
  await writeFile(join(to, 'COPYRIGHT'), await readFile(DEBIAN_COPYRIGHT))
  await writeFile(join(to, 'SOURCE-OFFER.txt'), sourceOffer(debianVersion()))
  return { to, files: [...IPXE_FILES, 'COPYING', 'COPYRIGHT', 'SOURCE-OFFER.txt'] }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' } } })
  const root = fileURLToPath(new URL('..', import.meta.url))
  const result = await stageIpxe({ from: values.from, to: values.to ?? join(root, 'resources', 'ipxe') })
  console.log(`stage-ipxe: ${result.files.length} files in ${result.to}`)
}
