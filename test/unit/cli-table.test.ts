import { describe, it, expect } from 'vitest'
import { formatTable } from '../../electron/cli/table'

describe('formatTable', () => {
  it('pads each column to its widest cell and trims line ends', () => {
    expect(
      formatTable(
        ['NAME', 'IP'],
        [
          ['node01', '198.18.0.11'],
          ['n2', '-'],
        ],
      ),
    ).toBe('NAME    IP\nnode01  198.18.0.11\nn2      -\n')
  })
  it('prints the head alone when there are no rows', () => {
    expect(formatTable(['A', 'BB'], [])).toBe('A  BB\n')
  })
})
