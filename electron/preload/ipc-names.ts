/**
 * The two IPC channel names, restated without importing contract.ts at runtime: that module builds zod
 * schemas at load, and a sandboxed preload should carry a few kB, not zod. `typeof` ties each name to the
 * contract's literal, so changing either side without the other is a compile error.
 */
import type { IPC_EVENT as ContractEvent, IPC_INVOKE as ContractInvoke } from '../ipc/contract'

export const IPC_INVOKE: typeof ContractInvoke = 'rackboot:call'
export const IPC_EVENT: typeof ContractEvent = 'rackboot:event'
