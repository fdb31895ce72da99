import { describe, it, expect } from 'vitest'
import { nameList } from '../../electron/cli/interop'

describe('nameList (import summaries)', () => {
  const names = (n: number) => Array.from({ length: n }, (_, i) => `n${i + 1}`)

  it('lists a short list whole', () => {
    expect(nameList([])).toBe('')
    expect(nameList(names(1))).toBe('n1')
    expect(nameList(names(12))).toBe(names(12).join(', '))
  })

  it('cuts a long list after the first twelve and says how many more', () => {
    expect(nameList(names(13))).toBe(`${names(12).join(', ')} and 1 more`)
    expect(nameList(names(1500))).toBe(`${names(12).join(', ')} and 1488 more`)
    expect(nameList(names(5), 2)).toBe('n1, n2 and 3 more')
  })
})
