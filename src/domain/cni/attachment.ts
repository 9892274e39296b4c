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
