/** What networking needs to know about the host it runs on. */
export interface HostFacts {
  /** Text of the host's resolv.conf (systemd-resolved's upstream file when the stub is the only resolver). */
  resolvConf(): Promise<string>;
  /** Text of the host's /etc/hosts (copied into --net host containers). */
  etcHosts(): Promise<string>;
  hostname(): string;
  /** The address `--add-host x:host-gateway` resolves to: the first non-loopback IPv4. */
  hostGatewayIp(): string | undefined;
  /** False when no socket can bind `ip` here (EADDRNOTAVAIL): it is not an address of this host. */
  isLocalAddress(ip: string): Promise<boolean>;
}
