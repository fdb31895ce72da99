import { describe, it, expect } from 'vitest'
import { v8FlagsFor } from '../../bin/v8-flags.js'

describe('v8FlagsFor (the rackboot launcher)', () => {
  it('compiles everything up front for serve, so the first PXE machine does not wait for V8', () => {
    expect(v8FlagsFor(['serve'])).toEqual(['--no-lazy'])
    expect(v8FlagsFor(['serve', '--interface', 'eth1', '--dhcp-mode', 'proxy'])).toEqual(['--no-lazy'])
  })

  it("keeps V8's default for short-lived commands", () => {
    for (const args of [
      [],
      ['--version'],
      ['nodes', 'list', '--json'],
      ['sim', 'storm'],
      ['doctor'],
      ['lab', 'up'],
    ])
      expect(v8FlagsFor(args)).toEqual([])
  })
})
