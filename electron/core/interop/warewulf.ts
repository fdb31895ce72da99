/** Warewulf nodes.conf interop: the functions the CLI (`rackboot export|import warewulf`) and contract call. */
export { exportWarewulf, splitArgs } from './warewulf-export'
export { importWarewulf } from './warewulf-import'
export type {
  ImportProblem,
  WarewulfExportOptions,
  WarewulfImport,
  WarewulfImportOptions,
  WarewulfNetdevExtra,
  WarewulfNodeExtra,
  WarewulfVersion,
  WwMap,
  WwValue,
} from './warewulf-types'
