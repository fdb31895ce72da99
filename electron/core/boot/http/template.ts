/**
 * The placeholder syntax of Rackboot's iPXE templates: `{{name}}` (spaces inside the braces allowed), name =
 * a letter then letters/digits. Chosen because iPXE's own `${var}` must pass through untouched: the server
 * fills `{{...}}` once, iPXE expands `${...}` on the node. There is no escape for a literal `{{`: iPXE never
 * needs one. No conditionals or loops: a template is a text with holes, the code computes the holes.
 *
 * Errors instead of guesses: an unknown name, a malformed or unclosed placeholder, or a value with a line
 * break or control character (it would inject iPXE commands) fails the render, naming the variable and line.
 * Values listed in `multiline` (blocks the code generates) may span lines.
 */
import { type Result, ok, err } from '../../util/result'

export type TemplateVars = Readonly<Record<string, string>>

export function renderTemplate(
  template: string,
  vars: TemplateVars,
  o: { source?: string; multiline?: readonly string[] } = {},
): Result<string> {
  const source = o.source ?? 'iPXE template'
  const lineOf = (index: number) => template.slice(0, index).split('\n').length
  let out = ''
  let at = 0
  for (;;) {
    const open = template.indexOf('{{', at)
    if (open < 0) break
    const close = template.indexOf('}}', open + 2)
    if (close < 0) return err(`${source}, line ${lineOf(open)}: '{{' is never closed with '}}'`)
    const name = template.slice(open + 2, close).trim()
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name))
      return err(`${source}, line ${lineOf(open)}: '{{${name}}}' is not a variable name (letters and digits)`)
    if (!Object.prototype.hasOwnProperty.call(vars, name))
      return err(
        `${source}, line ${lineOf(open)}: unknown variable {{${name}}}; known: ${Object.keys(vars).sort().join(', ')}`,
      )
    const value = vars[name] ?? ''
    // eslint-disable-next-line no-control-regex
    const bad = (o.multiline ?? []).includes(name) ? /[\0\r\x0b\x0c]/ : /[\0-\x1f\x7f]/
    if (bad.test(value))
      return err(
        `${source}, line ${lineOf(open)}: variable {{${name}}} holds a line break or control character`,
      )
    out += template.slice(at, open) + value
    at = close + 2
  }
  return ok(out + template.slice(at))
}
