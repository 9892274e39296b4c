/** The request config a plugin reads on stdin (SPEC §3, libcni buildOneConfig). */
import type { PluginConf } from './net-conf.ts';
import { versionAtLeast } from './version.ts';

/** One entry of the `portMappings` capability as a plugin reads it (portmap: protocol and hostIP loosely typed). */
export interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

export interface Bandwidth {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

export interface DnsCapability {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

/** CONVENTIONS.md capabilities, in their documented lower-camel JSON form. */
export interface CapabilityArgs {
  portMappings?: CniPortMapping[];
  ips?: string[];
  mac?: string;
  bandwidth?: Bandwidth;
  dns?: DnsCapability;
  aliases?: string[];
  [capability: string]: unknown;
}

/** Only capabilities the plugin declares and the runtime supplies; undefined when none. */
export function runtimeConfigFor(plugin: PluginConf, capabilityArgs: CapabilityArgs | undefined): Record<string, unknown> | undefined {
  const entries = plugin.capabilities
    .filter((cap) => capabilityArgs?.[cap] !== undefined)
    .map((cap) => [cap, capabilityArgs![cap]] as const);
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

export interface PluginRequestInput {
  plugin: PluginConf;
  networkName: string;
  cniVersion: string;
  prevResult?: Record<string, unknown> | undefined;
  capabilityArgs?: CapabilityArgs | undefined;
  /** Extra keys for GC (`cni.dev/valid-attachments`). */
  extra?: Record<string, unknown>;
}

export function buildPluginRequest(input: PluginRequestInput): Record<string, unknown> {
  const { plugin, networkName, cniVersion, prevResult, capabilityArgs, extra } = input;
  const request: Record<string, unknown> = { ...plugin.raw, name: networkName, cniVersion };
  // Spec 1.1: capabilities "must not be set" in the request; older plugins ignore it, as libcni keeps it.
  if (cniVersion !== '' && versionAtLeast(cniVersion, '1.1.0')) delete request['capabilities'];
  delete request['prevResult'];
  delete request['runtimeConfig'];
  const runtimeConfig = runtimeConfigFor(plugin, capabilityArgs);
  if (runtimeConfig) request['runtimeConfig'] = runtimeConfig;
  if (prevResult) request['prevResult'] = prevResult;
  return { ...request, ...extra };
}
