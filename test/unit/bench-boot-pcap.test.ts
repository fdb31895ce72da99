import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { readBootPcap, wireMilestones } from '../../bench/lib/boot-pcap'

const fixture = (name: string) => path.join(import.meta.dirname, '..', 'fixtures', 'lab', name)
const MAC = '52:54:00:22:00:01'

describe('bench:boot wire milestones (real captures of one lab node)', () => {
  for (const name of ['boot-wire-rackboot.pcap', 'boot-wire-dnsmasq-nginx.pcap'])
    it(`${name}: iPXE's DHCP, the script, the kernel request and the OS's own DHCP, in order`, () => {
      const events = readBootPcap(fixture(name))
      const dhcp = events.filter((e) => e.kind === 'dhcp').map((e) => (e.kind === 'dhcp' ? e.type : ''))
      // iPXE (DISCOVER, OFFER, REQUEST, ACK), then udhcpc in the booted OS: the same four again.
      expect(dhcp).toEqual([
        'DHCPDISCOVER',
        'DHCPOFFER',
        'DHCPREQUEST',
        'DHCPACK',
        'DHCPDISCOVER',
        'DHCPOFFER',
        'DHCPREQUEST',
        'DHCPACK',
      ])
      const paths = events.flatMap((e) => (e.kind === 'request' ? [e.path.split('?')[0]] : []))
      expect(paths).toEqual(
        ['ipxe', 'kernel', 'image', 'modules', 'system'].map((k) => `/${k}/52-54-00-22-00-01`),
      )
      const m = wireMilestones(events, MAC)
      const order = [
        m.discover,
        m.offer,
        m.request,
        m.ack,
        m.scriptRequest,
        m.scriptResponse,
        m.kernelRequest,
        m.osAck,
      ]
      expect(order.every((t) => typeof t === 'number')).toBe(true)
      expect([...order].sort((a, b) => a! - b!)).toEqual(order)
      // The OS's ACK is a separate exchange, not iPXE's.
      expect(m.osAck).toBeGreaterThan(m.ack!)
    })

  it('ignores other MACs', () => {
    expect(wireMilestones(readBootPcap(fixture('boot-wire-rackboot.pcap')), '52:54:00:22:00:02')).toEqual({})
  })
})
