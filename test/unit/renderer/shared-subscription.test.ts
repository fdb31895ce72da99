import { describe, expect, it } from 'vitest'
import { sharedSubscription } from '../../../renderer/src/stores/shared-subscription'

describe('sharedSubscription', () => {
  it('subscribes for the first user, unsubscribes after the last, and ignores a second dispose', () => {
    const log: string[] = []
    const shared = sharedSubscription(() => {
      log.push('on')
      return () => log.push('off')
    })
    const a = shared.start()
    const b = shared.start()
    expect(log).toEqual(['on'])
    a()
    a()
    expect(shared.active()).toBe(true)
    expect(log).toEqual(['on'])
    b()
    expect(shared.active()).toBe(false)
    expect(log).toEqual(['on', 'off'])
    shared.start()
    expect(log).toEqual(['on', 'off', 'on'])
  })
})
