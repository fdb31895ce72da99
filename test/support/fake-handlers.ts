/** Capture handlers for contract tests that do not exercise capture: an idle, empty capture. */
import type { AppStatus, Handlers } from '../../electron/ipc/contract'
import { nodeSchema, settingsSchema } from '../../electron/core/inventory/schema'
import type { CaptureStatus } from '../../electron/core/boot/events'
import { createLabHandlers } from '../../electron/core/lab/contract-handlers'

const idle: CaptureStatus = { active: false, ambiguity: null, last: null, next: null, waiting: [] }

/** Interop handlers for contract tests that do not exercise interop: empty exports, refusing imports. */
export const idleInteropHandlers: Pick<
  Handlers,
  'export/render' | 'export/images' | 'import/warewulf' | 'import/macs'
> = {
  'export/render': async () => ({ text: '' }),
  'export/images': async () => ({ written: [], skipped: [] }),
  'import/warewulf': async () => {
    throw new Error('import/warewulf is not part of this test')
  },
  'import/macs': async () => {
    throw new Error('import/macs is not part of this test')
  },
}

/** Also carries the interop stubs, so every fake that spreads this one stays a complete Handlers. */
export const idleCaptureHandlers: Pick<
  Handlers,
  | 'capture/status'
  | 'capture/start'
  | 'capture/stop'
  | 'capture/undo'
  | 'capture/resolve'
  | 'export/render'
  | 'export/images'
  | 'import/warewulf'
  | 'import/macs'
  | 'nodes/swap'
  | 'nodes/set-boot'
  | 'nodes/timeline'
  | 'nodes/set-bmc'
  | 'images/import'
  | 'images/remove'
  | 'lab/status'
  | 'lab/power'
> = {
  ...idleInteropHandlers,
  // Not a virtual rack: both lab channels refuse, as a plain serve's do.
  ...createLabHandlers(null).handlers,
  'images/import': async () => {
    throw new Error('images/import is not part of this test')
  },
  'images/remove': async () => {
    throw new Error('images/remove is not part of this test')
  },
  'nodes/set-boot': async () => {
    throw new Error('nodes/set-boot is not part of this test')
  },
  'nodes/swap': async () => {
    throw new Error('nodes/swap is not part of this test')
  },
  'nodes/timeline': async () => [],
  'nodes/set-bmc': async () => {
    throw new Error('nodes/set-bmc is not part of this test')
  },
  'capture/status': async () => idle,
  'capture/start': async () => ({ ...idle, active: true }),
  'capture/stop': async () => idle,
  'capture/undo': async () => idle,
  'capture/resolve': async () => idle,
}

/** Wizard handlers for contract tests that do not exercise the wizard: no NICs, an empty plan, refusing apply. */
export const idleWizardHandlers: Pick<
  Handlers,
  'net/interfaces' | 'net/probe-dhcp' | 'plan/preview' | 'plan/apply' | 'stack/counters'
> = {
  'stack/counters': async () => ({ dhcp: null, tftp: null, http: null }),
  'net/interfaces': async () => [],
  'net/probe-dhcp': async () => [],
  'plan/preview': async (req) => ({
    rack: req.rack,
    rackExists: false,
    rackIndex: 0,
    subnet: null,
    nodes: [],
    issues: [],
  }),
  'plan/apply': async () => {
    throw new Error('plan/apply is not part of this test')
  },
}

/** The status the fake core reports. */
export const testStatus: AppStatus = {
  version: '0.0.0-test',
  dataDir: '/nowhere',
  headless: true,
  stack: {
    state: 'stopped',
    interface: null,
    dhcp: { mode: 'off', listening: null },
    tftp: { listening: null },
    http: { listening: null },
    error: null,
  },
}

/**
 * A complete fake core for contract tests: one node `n1`, empty racks and images, idle capture, wizard and
 * interop; `overrides` replace single channels. Adding a channel to the contract breaks only this file.
 */
export function fakeHandlers(overrides: Partial<Handlers> = {}): Handlers {
  return {
    'app/status': async () => testStatus,
    'app/elevate': async () => ({ outcome: 'unavailable', message: 'fake core' }),
    'settings/get': async () => settingsSchema.parse({}),
    'settings/update': async (patch) => settingsSchema.parse(patch),
    'nodes/list': async () => [nodeSchema.parse({ name: 'n1', createdAt: 't', updatedAt: 't' })],
    'nodes/add': async (req) => nodeSchema.parse({ name: req.name, createdAt: 't', updatedAt: 't' }),
    'nodes/remove': async (req) => ({ removed: req.name }),
    'racks/list': async () => [],
    'racks/upsert': async (rack) => rack,
    'racks/remove': async (req) => ({ removed: req.name }),
    'images/list': async () => [],
    'stack/status': async () => testStatus.stack,
    ...idleCaptureHandlers,
    ...idleWizardHandlers,
    ...overrides,
  }
}
