// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest'
import { mount, type VueWrapper } from '@vue/test-utils'
import RackElevation from '../../../renderer/src/components/RackElevation.vue'
import type { ElevationNode } from '../../../renderer/src/components/elevation'

let wrapper: VueWrapper | null = null
afterEach(() => {
  wrapper?.unmount()
  wrapper = null
})

const n = (name: string, slot: number, over: Partial<ElevationNode> = {}): ElevationNode => ({
  name,
  slot,
  heightU: 1,
  ipv4: null,
  macs: [],
  state: 'planned',
  ...over,
})
const U = 18

function draw(props: Record<string, unknown>) {
  wrapper = mount(RackElevation, {
    props: { name: 'r1', heightU: 4, numbering: 'bottom-up', nodes: [], ...props },
  })
  return wrapper
}
const rectOf = (w: VueWrapper, name: string) => w.get(`[data-node="${name}"] rect`)

describe('RackElevation', () => {
  it('draws every U slot, numbered on both sides', () => {
    const w = draw({ heightU: 42 })
    expect(w.findAll('rect.slot')).toHaveLength(42)
    expect(w.findAll('text.slot-number')).toHaveLength(84)
    expect(w.get('title').text()).toBe('Rack r1, 42 U, slot 1 at the bottom')
  })

  it('puts slot 1 at the bottom or the top as the rack is numbered', () => {
    const nodes = [n('low', 1), n('high', 4)]
    const up = draw({ nodes })
    expect(Number(rectOf(up, 'low').attributes('y'))).toBeGreaterThan(
      Number(rectOf(up, 'high').attributes('y')),
    )
    up.unmount()
    const down = draw({ nodes, numbering: 'top-down' })
    expect(Number(rectOf(down, 'low').attributes('y'))).toBeLessThan(
      Number(rectOf(down, 'high').attributes('y')),
    )
  })

  it('a 2 U node spans both its slots', () => {
    const w = draw({ nodes: [n('big', 2, { heightU: 2 })] })
    const rect = rectOf(w, 'big')
    // Bottom-up in 4 U: slots 2–3 are rows 1–2 from the top.
    expect(Number(rect.attributes('y'))).toBeCloseTo(1 * U + 1.5)
    expect(Number(rect.attributes('height'))).toBeCloseTo(2 * U - 3)
  })

  it('writes name, IP, MAC and state as words, not only colour', () => {
    const states: ElevationNode['state'][] = ['new', 'planned', 'captured', 'booting', 'up', 'failed']
    const nodes = states.map((state, i) =>
      n(`n${i}`, i + 1, { state, ipv4: `198.18.0.${i + 10}`, macs: i === 2 ? ['52:54:00:00:00:02'] : [] }),
    )
    const w = draw({ heightU: 8, nodes })
    for (const [i, state] of states.entries()) {
      const g = w.get(`[data-node="n${i}"]`)
      expect(g.get('text.state').text()).toBe(state)
      expect(g.get('text.name').text()).toBe(`n${i}`)
      expect(g.get('text.ip').text()).toBe(`198.18.0.${i + 10}`)
      expect(g.classes()).toContain(`state-${state}`)
    }
    expect(w.get('[data-node="n2"] text.mac').text()).toBe('52:54:00:00:00:02')
    expect(w.get('[data-node="n1"] text.mac').text()).toBe('no MAC yet')
    expect(w.get('desc').text()).toContain('6 nodes: 1 new, 1 planned, 1 captured, 1 booting, 1 up, 1 failed')
  })

  it('marks a node with a problem in words', () => {
    const w = draw({ nodes: [n('x', 1, { state: 'new', problem: "a node named 'x' already exists" })] })
    expect(w.get('[data-node="x"] text.state').text()).toBe('⚠ problem')
    expect(w.get('[data-node="x"] title').text()).toContain("a node named 'x' already exists")
  })

  it('highlights the next slot when asked, and only then', () => {
    expect(draw({}).find('[data-test="next-slot"]').exists()).toBe(false)
    wrapper!.unmount()
    const w = draw({ nextSlot: 3 })
    const next = w.get('[data-test="next-slot"]')
    expect(next.attributes('data-slot')).toBe('3')
    expect(Number(next.get('rect').attributes('y'))).toBe(1 * U + 1)
    expect(w.get('desc').text()).toContain('Next node goes in slot 3.')
  })

  it('lists nodes that do not fit instead of drawing them off the rack', () => {
    const w = draw({ nodes: [n('ok', 1), n('lost', 9)] })
    expect(w.find('[data-node="lost"]').exists()).toBe(false)
    expect(w.get('[data-test="outside"]').text()).toBe('Outside this 4 U rack: lost (slot 9)')
  })
})
