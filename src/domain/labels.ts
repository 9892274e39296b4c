/**
 * Container label keys: the wire contract between the CLI (which sets them as
 * containerd labels and copies them into the OCI spec's annotations) and the
 * OCI hook (which reads them back from the runtime state). Users may not set
 * labels under the `tsnerd/` prefix.
 */
export const LABEL_PREFIX = 'tsnerd/';

export const Labels = {
  /** Container name. */
  name: 'tsnerd/name',
  /** containerd namespace; the CNI container ID is `<namespace>-<id>`. */
  namespace: 'tsnerd/namespace',
  /** Absolute path of the container's state dir (logs, network-config.json). */
  stateDir: 'tsnerd/state-dir',
  /** JSON string[]: the `--net` values, in interface order (eth0, eth1, ...). */
  networks: 'tsnerd/networks',
  /** JSON string[] of "host:ip" from --add-host (host-gateway already resolved). */
  extraHosts: 'tsnerd/extraHosts',
  hostname: 'tsnerd/hostname',
  domainname: 'tsnerd/domainname',
  ip: 'tsnerd/ip',
  ip6: 'tsnerd/ip6',
  macAddress: 'tsnerd/mac-address',
  /** JSON {DNSServers, DNSSearchDomains, DNSResolvConfOptions}: the user's --dns* flags. */
  dns: 'tsnerd/dns',
  /** JSON string[] of "port/proto" from --expose. */
  exposedPorts: 'tsnerd/exposed-ports',
  /** Set when the container was run with --rm. */
  autoRemove: 'tsnerd/auto-remove',
} as const;

export type LabelKey = (typeof Labels)[keyof typeof Labels];
