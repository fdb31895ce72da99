/** See v8-flags.js. */
export function v8FlagsFor(args: readonly string[]): string[]
