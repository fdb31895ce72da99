/**
 * Per-node SSH host keys: generated once, kept under <node dir>/hostkeys/, so a reinstalled node keeps its
 * identity and clients' known_hosts stay valid. By default node:crypto ed25519 written in the OpenSSH formats
 * (PROTOCOL.key for the private key, RFC 8709 §4 for the public blob), in-process so a first-boot storm does
 * not fork one ssh-keygen per node; ssh-keygen stays selectable (OverlayCacheOptions.keyGenerator).
 */
import { execFile } from 'node:child_process'
import { generateKeyPair, randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { RackbootError, errorMessage } from '../../util/result'
import type { HostKey } from './templates'

const run = promisify(execFile)
const generateDer = promisify(
  (cb: (err: Error | null, keys: { publicKey: Buffer; privateKey: Buffer }) => void): void =>
    generateKeyPair(
      'ed25519',
      {
        publicKeyEncoding: { type: 'spki', format: 'der' },
        privateKeyEncoding: { type: 'pkcs8', format: 'der' },
      },
      (err, publicKey, privateKey) => cb(err, { publicKey, privateKey }),
    ),
)

export type KeyGenerator = 'ssh-keygen' | 'node'

/** Reads the node's ed25519 host key from `dir`, generating it first when absent. */
export async function ensureHostKey(dir: string, comment: string, generator: KeyGenerator): Promise<HostKey> {
  const priv = join(dir, 'ssh_host_ed25519_key')
  try {
    return {
      type: 'ed25519',
      privateKey: await readFile(priv, 'utf8'),
      publicKey: await readFile(`${priv}.pub`, 'utf8'),
    }
  } catch {
    // Absent (or half there): generate below.
  }
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const tmp = await mkdtemp(join(dir, '.keygen-'))
  try {
    const key = generator === 'ssh-keygen' ? await viaSshKeygen(tmp, comment) : await viaNodeCrypto(comment)
    await writeFile(join(tmp, 'k'), key.privateKey, { mode: 0o600 })
    await writeFile(join(tmp, 'k.pub'), key.publicKey, { mode: 0o644 })
    // Public first: a crash between the renames leaves no private key, so the next call regenerates both.
    await rename(join(tmp, 'k.pub'), `${priv}.pub`)
    await rename(join(tmp, 'k'), priv)
    return key
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

async function viaSshKeygen(tmp: string, comment: string): Promise<HostKey> {
  const path = join(tmp, 'gen')
  try {
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path])
  } catch (e) {
    throw new RackbootError(
      `generating an SSH host key for ${comment} with ssh-keygen failed: ${errorMessage(e)}`,
      'hostkey',
      'install openssh-client, or let Rackboot use its built-in generator',
    )
  }
  return {
    type: 'ed25519',
    privateKey: await readFile(path, 'utf8'),
    publicKey: await readFile(`${path}.pub`, 'utf8'),
  }
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}
const sshString = (b: Buffer | string) => {
  const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : b
  return Buffer.concat([u32(buf.length), buf])
}

/**
 * An ed25519 key pair in OpenSSH's unencrypted private key format and authorized_keys public format. The
 * generation and DER encoding run in the thread pool: a cold storm's first boots make one key per node on
 * demand while the event loop answers DHCP, TFTP and HTTP.
 */
export async function viaNodeCrypto(comment: string, checkint?: number): Promise<HostKey> {
  const { publicKey: spki, privateKey: pkcs8 } = await generateDer()
  // Raw 32-byte keys are the last 32 bytes of the DER SPKI / PKCS#8 encodings (RFC 8410).
  const pub = spki.subarray(-32)
  const seed = pkcs8.subarray(-32)
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)])
  // The two equal check words let a decryptor see a wrong passphrase; random as ssh-keygen does.
  const check = u32(checkint ?? randomBytes(4).readUInt32BE(0))
  let priv = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ])
  // Padding 1, 2, 3, ... to the cipher block size (8 for "none").
  const padLen = (8 - (priv.length % 8)) % 8
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: padLen }, (_, k) => k + 1))])
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    u32(1),
    sshString(blob),
    sshString(priv),
  ])
  const b64 = body.toString('base64').replace(/.{70}/g, '$&\n')
  return {
    type: 'ed25519',
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64.replace(/\n$/, '')}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${blob.toString('base64')} ${comment}\n`,
  }
}
