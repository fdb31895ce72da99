/**
 * `rackboot settings …`: read and change the settings through the running serve (or the store), validated by
 * the same schema as the UI. Besides a JSON patch, the two node-file settings get their own verbs, because
 * their values are whole files: `ssh-key add ~/.ssh/id_ed25519.pub`, `runtime-file set /etc/motd --from F`.
 */
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Command, Option } from 'commander'
import type { Logger } from '../core/util/logger'
import { errorMessage } from '../core/util/result'
import type { Settings, SettingsPatch } from '../core/inventory/schema'
import { UsageError, type CliIo } from './io'
import { openSession } from './session'

export interface SettingsCliContext {
  io: CliIo
  logger: Logger
  dataDirOption: () => Option
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(resolve(file), 'utf8')
  } catch (e) {
    throw new UsageError(`${what} '${file}' cannot be read: ${errorMessage(e)}`)
  }
}

/** Octal mode as written by people: 644, 0644 or 0o644. */
function modeArg(v: string): number {
  const m = /^(?:0o?)?([0-7]{3})$/.exec(v)
  if (!m) throw new UsageError(`--mode '${v}' is not an octal file mode such as 0644`)
  return parseInt(m[1]!, 8)
}

export function registerSettingsCommands(program: Command, ctx: SettingsCliContext): void {
  const { io } = ctx
  /** settings/get, then settings/update with the patch `change` makes of them; prints what `done` says. */
  const change = async (
    dataDir: string,
    patch: (s: Settings) => SettingsPatch,
    done: (s: Settings) => string,
  ): Promise<void> => {
    const session = await openSession(resolve(dataDir), ctx.logger)
    try {
      const updated = await session.call('settings/update', patch(await session.call('settings/get', {})))
      io.stdout(done(updated))
    } finally {
      await session.close()
    }
  }
  const show = async (dataDir: string, pick: (s: Settings) => unknown) => {
    const session = await openSession(resolve(dataDir), ctx.logger)
    try {
      io.stdout(`${JSON.stringify(pick(await session.call('settings/get', {})), null, 2)}\n`)
    } finally {
      await session.close()
    }
  }

  const settings = program.command('settings').description('show and change settings (the UI’s schema)')
  settings
    .command('get')
    .description('all settings as JSON')
    .addOption(ctx.dataDirOption())
    .action((o: { dataDir: string }) => show(o.dataDir, (s) => s))
  settings
    .command('set <file>')
    .description('apply a JSON object of settings (a patch: keys left out keep their value)')
    .addOption(ctx.dataDirOption())
    .action(async (file: string, o: { dataDir: string }) => {
      let patch: unknown
      try {
        patch = JSON.parse(await readText(file, 'settings file'))
      } catch (e) {
        if (e instanceof UsageError) throw e
        throw new UsageError(`settings file '${file}' is not JSON: ${errorMessage(e)}`)
      }
      await change(
        o.dataDir,
        () => patch as SettingsPatch, // validated by settings/update's schema, which names any bad key
        () => `settings updated from ${file}\n`,
      )
    })

  const keys = settings
    .command('ssh-key')
    .description("root's authorized_keys on every node (system overlay)")
  keys
    .command('list')
    .addOption(ctx.dataDirOption())
    .action((o: { dataDir: string }) => show(o.dataDir, (s) => s.sshAuthorizedKeys))
  keys
    .command('add <pubfile>')
    .description('add every key line of a .pub or authorized_keys file (comments and blank lines skipped)')
    .addOption(ctx.dataDirOption())
    .action(async (file: string, o: { dataDir: string }) => {
      const lines = (await readText(file, 'key file'))
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'))
      if (lines.length === 0) throw new UsageError(`key file '${file}' holds no key lines`)
      await change(
        o.dataDir,
        (s) => ({
          sshAuthorizedKeys: [
            ...s.sshAuthorizedKeys,
            ...lines.filter((l) => !s.sshAuthorizedKeys.includes(l)),
          ],
        }),
        (s) => `${s.sshAuthorizedKeys.length} authorized key(s); nodes get them at their next boot\n`,
      )
    })
  keys
    .command('remove <text>')
    .description('remove the keys whose line contains TEXT (e.g. the comment, or part of the key)')
    .addOption(ctx.dataDirOption())
    .action(async (text: string, o: { dataDir: string }) => {
      let removed = 0
      await change(
        o.dataDir,
        (s) => {
          const kept = s.sshAuthorizedKeys.filter((k) => !k.includes(text))
          removed = s.sshAuthorizedKeys.length - kept.length
          if (removed === 0) throw new UsageError(`no authorized key contains '${text}'`)
          return { sshAuthorizedKeys: kept }
        },
        (s) => `removed ${removed}; ${s.sshAuthorizedKeys.length} authorized key(s) left\n`,
      )
    })

  const files = settings
    .command('runtime-file')
    .description('files of the runtime overlay, applied to running nodes at the agent’s next poll')
  files
    .command('list')
    .addOption(ctx.dataDirOption())
    .action((o: { dataDir: string }) =>
      show(o.dataDir, (s) =>
        s.runtimeFiles.map((f) => ({
          path: f.path,
          mode: `0${f.mode.toString(8)}`,
          bytes: Buffer.byteLength(f.content),
        })),
      ),
    )
  files
    .command('set <path>')
    .description('add or replace the runtime file PATH with the content of --from')
    .requiredOption('--from <file>', 'local file whose content the nodes get')
    .option('--mode <octal>', 'file mode on the nodes', modeArg, 0o644)
    .addOption(ctx.dataDirOption())
    .action(async (path: string, o: { from: string; mode: number; dataDir: string }) => {
      const content = await readText(o.from, '--from file')
      await change(
        o.dataDir,
        (s) => ({
          runtimeFiles: [...s.runtimeFiles.filter((f) => f.path !== path), { path, mode: o.mode, content }],
        }),
        () => `runtime file ${path} set; running nodes get it at their agent's next poll\n`,
      )
    })
  files
    .command('remove <path>')
    .description('stop serving PATH (nodes that have it keep their copy)')
    .addOption(ctx.dataDirOption())
    .action(async (path: string, o: { dataDir: string }) => {
      await change(
        o.dataDir,
        (s) => {
          if (!s.runtimeFiles.some((f) => f.path === path)) throw new UsageError(`no runtime file '${path}'`)
          return { runtimeFiles: s.runtimeFiles.filter((f) => f.path !== path) }
        },
        () => `runtime file ${path} removed\n`,
      )
    })
}
