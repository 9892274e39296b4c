import { invalid } from '../errors.ts';
import { sha256Hex } from '../sha256.ts';
import { quote } from '../text.ts';
import { shortId } from '../container-ref.ts';
import { CONFLIST_PREFIX, CONFLIST_SUFFIX, DEFAULT_BRIDGE_NAME, DEFAULT_NETWORK_NAME, PSEUDO_NETWORKS } from './constants.ts';

/** Docker's identifier rule: at least two characters. */
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** The name is part of file names (the conflist, host-local's dir) and of iptables comments. */
const MAX_NAME_LENGTH = 128;

export function validateNetworkName(name: string): void {
  if (name === '') throw invalid('invalid network name: identifier must not be empty');
  if (!NAME_PATTERN.test(name)) {
    throw invalid(`invalid network name: identifier ${quote(name)} must match pattern "[a-zA-Z0-9][a-zA-Z0-9_.-]+"`);
  }
  if (name.length > MAX_NAME_LENGTH) throw invalid(`invalid network name ${quote(name)}: longer than ${MAX_NAME_LENGTH} characters`);
  if ((PSEUDO_NETWORKS as readonly string[]).includes(name) || name === DEFAULT_NETWORK_NAME) {
    throw invalid(`operation is not permitted on predefined ${name} network`);
  }
}

/** The network ID is the hex sha256 of the name, so it is the same in every tool and on every host. */
export function networkId(name: string): string {
  return sha256Hex(name);
}

export function bridgeNameFor(name: string, id: string): string {
  return name === DEFAULT_NETWORK_NAME ? DEFAULT_BRIDGE_NAME : `br-${shortId(id)}`;
}

/**
 * Where a network's conflist lives: the default network at the top level (seen
 * by every namespace), every other one in its namespace's folder (nerdctl ≥ 2.0).
 */
export function conflistPath(netconfPath: string, namespace: string, name: string): string {
  const file = `${CONFLIST_PREFIX}${name}${CONFLIST_SUFFIX}`;
  const dir = netconfPath.replace(/\/+$/, '');
  return name === DEFAULT_NETWORK_NAME ? `${dir}/${file}` : `${dir}/${namespace}/${file}`;
}
