/** The DHCP codec, reply addressing and PXE boot policy: pure, no sockets. The server builds on these. */
export {
  decodePacket,
  encodePacket,
  clientMac,
  BootOp,
  BROADCAST_FLAG,
  MAGIC_COOKIE,
  DHCP_SERVER_PORT,
  DHCP_CLIENT_PORT,
  PXE_PROXY_PORT,
  DROP_ORDER,
  type DhcpPacket,
  type EncodeOptions,
} from './packet'
export {
  DhcpMessageType,
  messageTypeName,
  describeIpxe,
  decodeSubOptions,
  encodeSubOptions,
  machineUuid,
  IPXE_NO_PXEDHCP,
  IPXE_BUS_ID,
  OPTION_TABLE,
  type DhcpOptions,
  type RawOption,
  type ClientId,
  type ClientNdi,
  type ClientMachineId,
  type ClasslessRoute,
  type IpxeInfo,
} from './options'
export {
  replyDestination,
  type ReplyKind,
  type ReplyContext,
  type ReplyDestination,
  type ReplyRule,
} from './reply'
export {
  bootDecision,
  classifyClient,
  ClientArch,
  type BootContext,
  type BootDecision,
  type BootFacts,
  type IpxeRomChain,
  type ClientInfo,
  type ClientKind,
  type Firmware,
} from './pxe'
export { ChainMemory, isOwnIpxe, CHAIN_WINDOW_MS, type ChainEntry } from './chain'
