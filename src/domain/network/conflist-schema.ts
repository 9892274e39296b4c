/**
 * Typed shapes of the conflists tsnerd writes (same keys and key order as
 * nerdctl's, since zod emits keys in schema order) and the loose shape of any
 * conflist found in the conf dir.
 */
import { z } from 'zod';

export const IpamRange = z.object({
  gateway: z.string().optional(),
  ipRange: z.string().optional(),
  rangeEnd: z.string().optional(),
  rangeStart: z.string().optional(),
  subnet: z.string(),
});
export type IpamRange = z.infer<typeof IpamRange>;

export const Route = z.object({ dst: z.string() });

export const HostLocalIpam = z.object({
  ranges: z.array(z.array(IpamRange)),
  routes: z.array(Route).optional(),
  type: z.literal('host-local'),
});
export type HostLocalIpam = z.infer<typeof HostLocalIpam>;

export const DhcpIpam = z.object({
  daemonSocketPath: z.string(),
  provide: z.array(z.object({ fromArg: z.string(), option: z.string(), value: z.string() })),
  type: z.literal('dhcp'),
});
export type DhcpIpam = z.infer<typeof DhcpIpam>;

export const Ipam = z.discriminatedUnion('type', [HostLocalIpam, DhcpIpam]);
export type Ipam = z.infer<typeof Ipam>;

const Capabilities = z.record(z.string(), z.boolean());

export const BridgePlugin = z.object({
  type: z.literal('bridge'),
  bridge: z.string(),
  isGateway: z.boolean().optional(),
  ipMasq: z.boolean().optional(),
  mtu: z.number().int().positive().optional(),
  hairpinMode: z.boolean(),
  ipam: Ipam,
  capabilities: Capabilities.optional(),
});
export type BridgePlugin = z.infer<typeof BridgePlugin>;

export const PortmapPlugin = z.object({
  type: z.literal('portmap'),
  capabilities: z.object({ portMappings: z.boolean() }),
});

export const FirewallPlugin = z.object({
  type: z.literal('firewall'),
  backend: z.string().optional(),
  ingressPolicy: z.enum(['same-bridge', 'isolated']).optional(),
});
export type FirewallPlugin = z.infer<typeof FirewallPlugin>;

export const TuningPlugin = z.object({ type: z.literal('tuning') });

export const VlanPlugin = z.object({
  type: z.enum(['macvlan', 'ipvlan']),
  /** Always written, even empty: the plugin then uses the default-route interface. */
  master: z.string(),
  mode: z.string().optional(),
  mtu: z.number().int().positive().optional(),
  ipam: Ipam,
  capabilities: Capabilities.optional(),
});
export type VlanPlugin = z.infer<typeof VlanPlugin>;

export const ManagedPlugin = z.union([BridgePlugin, PortmapPlugin, FirewallPlugin, TuningPlugin, VlanPlugin]);
export type ManagedPlugin = z.infer<typeof ManagedPlugin>;

/** A conflist written by tsnerd or nerdctl. */
export const ManagedConflist = z.object({
  cniVersion: z.string(),
  name: z.string(),
  nerdctlID: z.string(),
  nerdctlLabels: z.record(z.string(), z.string()).optional(),
  plugins: z.array(ManagedPlugin).min(1),
});
export type ManagedConflist = z.infer<typeof ManagedConflist>;

/** Any conflist in the conf dir (hand-written, other tools): only what CNI itself requires. */
export const AnyPlugin = z.looseObject({ type: z.string() });
export type AnyPlugin = z.infer<typeof AnyPlugin>;
export const AnyConflist = z.looseObject({
  cniVersion: z.string().optional(),
  name: z.string().min(1),
  nerdctlID: z.string().optional(),
  nerdctlLabels: z.record(z.string(), z.string()).optional(),
  plugins: z.array(AnyPlugin).min(1),
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
