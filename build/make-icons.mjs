// Draws the Rackboot icon (a rack with three units, one booting) as PNGs for electron-builder
// (build/icons/<size>x<size>.png; Linux takes the set, Windows the 256 px one). No image tool needed:
// the pixels come from the same shapes as icon.svg and are written as an RGBA PNG with zlib.
// Usage: node build/make-icons.mjs
import { writeFile } from 'node:fs/promises'
import { deflateSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('icons/', import.meta.url))

// Shapes in a 256-unit box, mirrored in icon.svg.
const BG = [0x1f, 0x3a, 0x5f, 255]
const UNIT = [0xe8, 0xee, 0xf5, 255]
const LED_ON = [0x2e, 0xcc, 0x71, 255]
const LED_OFF = [0x8a, 0x99, 0xad, 255]
const units = [56, 112, 168] // top y of each rack unit; height 36, x 40..216

function colourAt(x, y) {
  // Rounded square, radius 40.
  const r = 40
  const cx = Math.min(Math.max(x, r), 256 - r)
  const cy = Math.min(Math.max(y, r), 256 - r)
  if ((x - cx) ** 2 + (y - cy) ** 2 > r * r) return [0, 0, 0, 0]
  for (const [i, top] of units.entries()) {
    if (y >= top && y < top + 36 && x >= 40 && x < 216) {
      const led = (x - 190) ** 2 + (y - (top + 18)) ** 2 <= 64
      if (led) return i === 1 ? LED_ON : LED_OFF
      if (x >= 56 && x < 150 && y >= top + 15 && y < top + 21) return BG
      return UNIT
    }
  }
  return BG
}

function crc32(buf) {
  let c = ~0
  for (const b of buf) {
    c ^= b
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1))
  }
  return ~c >>> 0
}

function chunk(type, data) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}

export function png(size) {
  const raw = Buffer.alloc(size * (size * 4 + 1))
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0 // filter: none
    for (let x = 0; x < size; x++) {
      const c = colourAt(((x + 0.5) * 256) / size, ((y + 0.5) * 256) / size)
      raw.set(c, y * (size * 4 + 1) + 1 + x * 4)
    }
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 6 // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

for (const size of [32, 64, 128, 256, 512]) await writeFile(`${here}${size}x${size}.png`, png(size))
await writeFile(`${here}icon.png`, png(256))
console.log('icons written to build/icons')
