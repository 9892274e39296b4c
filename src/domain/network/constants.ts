/** Names, addresses and label keys shared with nerdctl's on-disk format. */
export const DEFAULT_NETWORK_NAME = 'bridge';
export const DEFAULT_BRIDGE_NAME = 'nerdctl0';
export const DEFAULT_SUBNET = '10.4.0.0/24';
/** Automatic subnets start above the default network's so they never take it. */
export const AUTO_SUBNET_START = '10.4.1.0/24';

export const PSEUDO_NETWORKS = ['host', 'none'] as const;
export type PseudoNetworkName = (typeof PSEUDO_NETWORKS)[number];

/** nerdctl's label holding `--aux-address` values: JSON {subnet: {name: ip}}; hidden from `network ls` and inspect's `Labels`. */
export const AUX_ADDRESSES_LABEL = 'nerdctl/network-aux-addresses';

/** Label that marks the default network, set by both tools on `bridge`. */
export const DEFAULT_NETWORK_LABEL = 'nerdctl/default-network';

export const DRIVERS = ['bridge', 'macvlan', 'ipvlan'] as const;
export type Driver = (typeof DRIVERS)[number];

export const IPAM_DRIVERS = ['default', 'host-local', 'dhcp'] as const;
export type IpamDriver = 'host-local' | 'dhcp';

export const CNI_VERSION = '1.0.0';
export const CONFLIST_PREFIX = 'nerdctl-';
export const CONFLIST_SUFFIX = '.conflist';
export const LOCK_FILE = '.nerdctl.lock';
export const DHCP_SOCKET = '/run/cni/dhcp.sock';

/**
 * Network label `tsnerd/dns`: "false" on a network created with --disable-dns.
 * A label (nerdctlLabels) rather than a new conflist key, so nerdctl reads the file unchanged.
 */
export const DNS_LABEL = 'tsnerd/dns';
