/**
 * Typed shapes of the conflists tsnerd writes (same keys and key order as
 * nerdctl's, since zod emits keys in schema order) and the loose shape of any
 * conflist found in the conf dir.
 */
import * as z from '../zod.ts';

export const IpamRange = z.object({
  gateway: z.optional(z.string()),
  ipRange: z.optional(z.string()),
  rangeEnd: z.optional(z.string()),
  rangeStart: z.optional(z.string()),
  subnet: z.string(),
});
export type IpamRange = z.infer<typeof IpamRange>;

export const Route = z.object({ dst: z.string() });

export const HostLocalIpam = z.object({
  ranges: z.array(z.array(IpamRange)),
  routes: z.optional(z.array(Route)),
  type: z.literal('host-local'),
});
export type HostLocalIpam = z.infer<typeof HostLocalIpam>;

export const DhcpIpam = z.object({
  daemonSocketPath: z.string(),
  provide: z.array(z.object({ fromArg: z.optional(z.string()), option: z.string(), value: z.string() })),
  request: z.optional(z.array(z.object({ option: z.string(), skipDefault: z.optional(z.boolean()) }))),
  type: z.literal('dhcp'),
});
export type DhcpIpam = z.infer<typeof DhcpIpam>;

export const Ipam = z.discriminatedUnion('type', [HostLocalIpam, DhcpIpam]);
export type Ipam = z.infer<typeof Ipam>;

const Capabilities = z.record(z.string(), z.boolean());
const PositiveInt = z.number().check(z.int(), z.positive());

export const BridgePlugin = z.object({
  type: z.literal('bridge'),
  bridge: z.string(),
  isGateway: z.optional(z.boolean()),
  ipMasq: z.optional(z.boolean()),
  mtu: z.optional(PositiveInt),
  hairpinMode: z.boolean(),
  ipam: Ipam,
  capabilities: z.optional(Capabilities),
});
export type BridgePlugin = z.infer<typeof BridgePlugin>;

export const PortmapPlugin = z.object({
  type: z.literal('portmap'),
  capabilities: z.object({ portMappings: z.boolean() }),
});

export const FirewallPlugin = z.object({
  type: z.literal('firewall'),
  backend: z.optional(z.string()),
  ingressPolicy: z.optional(z.enum(['same-bridge', 'isolated'])),
});
export type FirewallPlugin = z.infer<typeof FirewallPlugin>;

export const TuningPlugin = z.object({ type: z.literal('tuning') });

export const VlanPlugin = z.object({
  type: z.enum(['macvlan', 'ipvlan']),
  /** Always written, even empty: the plugin then uses the default-route interface. */
  master: z.string(),
  mode: z.optional(z.string()),
  mtu: z.optional(PositiveInt),
  ipam: Ipam,
  capabilities: z.optional(Capabilities),
});
export type VlanPlugin = z.infer<typeof VlanPlugin>;

export const ManagedPlugin = z.union([BridgePlugin, PortmapPlugin, FirewallPlugin, TuningPlugin, VlanPlugin]);
export type ManagedPlugin = z.infer<typeof ManagedPlugin>;

/** A conflist written by tsnerd or nerdctl. */
export const ManagedConflist = z.object({
  cniVersion: z.string(),
  name: z.string(),
  nerdctlID: z.string(),
  nerdctlLabels: z.optional(z.record(z.string(), z.string())),
  plugins: z.array(ManagedPlugin).check(z.minLength(1)),
});
export type ManagedConflist = z.infer<typeof ManagedConflist>;

/** Any conflist in the conf dir (hand-written, other tools): only what CNI itself requires. */
export const AnyPlugin = z.looseObject({ type: z.string() });
export type AnyPlugin = z.infer<typeof AnyPlugin>;
export const AnyConflist = z.looseObject({
  cniVersion: z.optional(z.string()),
  name: z.string().check(z.minLength(1)),
  nerdctlID: z.optional(z.string()),
  nerdctlLabels: z.optional(z.record(z.string(), z.string())),
  plugins: z.array(AnyPlugin).check(z.minLength(1)),
});
export type AnyConflist = z.infer<typeof AnyConflist>;

/** The skeletons in templates/: fixed plugin chains whose per-network fields get filled. */
export const BridgeTemplate = z.object({
  cniVersion: z.string(),
  plugins: z.tuple([BridgePlugin, PortmapPlugin, FirewallPlugin, TuningPlugin]),
});
export type BridgeTemplate = z.infer<typeof BridgeTemplate>;
export const VlanTemplate = z.object({ cniVersion: z.string(), plugins: z.tuple([VlanPlugin]) });
export type VlanTemplate = z.infer<typeof VlanTemplate>;

export interface ConflistTemplates {
  bridge: BridgeTemplate;
  macvlan: VlanTemplate;
  ipvlan: VlanTemplate;
  dhcpIpam: DhcpIpam;
}

export const ConflistTemplatesSchema = z.object({
  bridge: BridgeTemplate,
  macvlan: VlanTemplate,
  ipvlan: VlanTemplate,
  dhcpIpam: DhcpIpam,
});
