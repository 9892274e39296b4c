/** The attachment key (container ID, ifname) checks libcni runs before ADD. */
import { invalid } from '../errors.ts';
import { CNI_NAME_PATTERN } from './net-conf.ts';

/** IFNAMSIZ - 1. */
const MAX_IFNAME_LENGTH = 15;

export function validateAttachment(networkName: string, containerId: string, ifName: string): void {
  if (!CNI_NAME_PATTERN.test(networkName)) throw invalid(`invalid network name "${networkName}"`);
  if (containerId === '') throw invalid('missing container ID');
  if (!CNI_NAME_PATTERN.test(containerId)) throw invalid(`invalid characters in container ID "${containerId}"`);
  if (ifName === '' || ifName.length > MAX_IFNAME_LENGTH || ifName === '.' || ifName === '..' || /[/:\s]/.test(ifName)) {
    throw invalid(`invalid interface name "${ifName}"`);
  }
}

/** libcni's cache file name: `<network>-<containerID>-<ifname>`. */
export function attachmentCacheName(networkName: string, containerId: string, ifName: string): string {
  return `${networkName}-${containerId}-${ifName}`;
}

/**
 * The host ends of the veths a bridge attachment's result names (interfaces outside the
 * sandbox other than the bridge itself), each with the bridge it is enslaved to. A DEL
 * without the container's netns leaves them: the netns is gone, and they with it, unless
 * another process keeps it (a container that joined it with `--net container:`), and then
 * the veth stays on the bridge with the released address.
 */
export function hostVethsOf(
  plugins: readonly { type: string; raw: Record<string, unknown> }[],
  interfaces: readonly { name: string; sandbox?: string }[],
): { link: string; bridge: string }[] {
  const bridgePlugin = plugins.find((p) => p.type === 'bridge');
  if (!bridgePlugin) return [];
  const bridge = typeof bridgePlugin.raw['bridge'] === 'string' ? bridgePlugin.raw['bridge'] : 'cni0';
  return interfaces.filter((i) => !i.sandbox && i.name !== bridge && /^[\w.-]{1,15}$/.test(i.name)).map((i) => ({ link: i.name, bridge }));
}
