// `npm run lint:actions`: checks every GitHub Actions workflow, which cannot run on our machines.
// 1. action-validator (the workflow JSON schema, and that path globs match files);
// 2. every step stays runnable here: each `npm run X` names a script in package.json, and each
//    `node|bash|sh <repo file>` names a file that exists.
// Usage: node build/lint-actions.mjs [workflow dir or files…]   (default: .github/workflows)
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'

const targets = process.argv.slice(2).length ? process.argv.slice(2) : ['.github/workflows']
const files = targets.flatMap((t) =>
  statSync(t).isDirectory()
    ? readdirSync(t)
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => join(t, f))
    : [t],
)
const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts ?? {}
const problems = []

for (const file of files) {
  const r = spawnSync('npx', ['--no', 'action-validator', file], { encoding: 'utf8' })
  if (r.status !== 0) {
    let detail = (r.stdout + r.stderr).trim()
    try {
      // Keep the leaf errors: path and message, one per line.
      const leaves = []
      const walk = (e) => (e.states ? e.states.forEach((s) => s.errors.forEach(walk)) : leaves.push(e))
      // The report goes to stderr as JSON.
      const out = r.stderr + r.stdout
      JSON.parse(out.slice(out.indexOf('{'))).errors.forEach(walk)
      detail = leaves.map((e) => `${e.path}: ${e.detail ?? e.title}`).join('\n  ')
    } catch {
      // not JSON: print as is
    }
    problems.push(`${file}: action-validator:\n  ${detail}`)
  }
  let doc
  try {
    doc = parse(readFileSync(file, 'utf8'))
  } catch (e) {
    problems.push(`${file}: not YAML: ${e.message}`)
    continue
  }
  for (const [jobName, job] of Object.entries(doc?.jobs ?? {}))
    for (const [i, step] of (job?.steps ?? []).entries()) {
      if (typeof step?.run !== 'string') continue
      const where = `${file}: jobs.${jobName}.steps[${i}]${step.name ? ` (${step.name})` : ''}`
      for (const m of step.run.matchAll(/\bnpm run(?: --silent)? ([\w:.-]+)/g))
        if (!(m[1] in scripts))
          problems.push(`${where}: 'npm run ${m[1]}' but package.json has no such script`)
      for (const m of step.run.matchAll(/\b(?:node|bash|sh) ((?:\.ci|build|bin|test|scripts)\/[\w./-]+)/g))
        if (!existsSync(m[1])) problems.push(`${where}: runs ${m[1]}, which does not exist`)
    }
}

for (const p of problems) process.stderr.write(`${p}\n`)
process.stdout.write(`lint:actions: ${files.length} workflow(s), ${problems.length} problem(s)\n`)
process.exit(problems.length === 0 ? 0 : 1)
