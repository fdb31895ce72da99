import { exitWhenFlushed } from './io'
import { run } from './main'

run(process.argv.slice(2)).then(exitWhenFlushed, (e: unknown) => {
  process.stderr.write(`rackboot: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  exitWhenFlushed(1)
})
