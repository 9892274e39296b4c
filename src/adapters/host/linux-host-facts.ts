import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import type { HostFacts } from '../../interfaces/host-facts.ts';
import { parseResolvConf } from '../../domain/dns/resolv-conf.ts';

const SYSTEMD_RESOLVED_STUB = '127.0.0.53';
const SYSTEMD_UPSTREAM = '/run/systemd/resolve/resolv.conf';

export class LinuxHostFacts implements HostFacts {
  private readonly configuredHostGatewayIp: string | undefined;

  /** `configuredHostGatewayIp`: `--host-gateway-ip`, which replaces the lookup of the host's addresses. */
  constructor(configuredHostGatewayIp?: string) {
    this.configuredHostGatewayIp = configuredHostGatewayIp;
  }

  async resolvConf(): Promise<string> {
    const text = await readOrEmpty('/etc/resolv.conf');
    const { nameservers } = parseResolvConf(text);
    if (nameservers.length === 1 && nameservers[0] === SYSTEMD_RESOLVED_STUB) {
      return (await readOrEmpty(SYSTEMD_UPSTREAM)) || text;
    }
    return text;
  }

  etcHosts(): Promise<string> {
    return readOrEmpty('/etc/hosts');
  }

  hostname(): string {
    return hostname();
  }

  hostGatewayIp(): string | undefined {
    if (this.configuredHostGatewayIp !== undefined) return this.configuredHostGatewayIp;
    for (const addrs of Object.values(networkInterfaces())) {
      for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
    }
    return undefined;
  }

  /** Binds port 0 on `ip` and lets go: the kernel's own answer, ip_nonlocal_bind and 127/8 included. */
  isLocalAddress(ip: string): Promise<boolean> {
    return new Promise((resolve) => {
      const server = createServer();
      server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'EADDRNOTAVAIL'));
      server.listen({ host: ip, port: 0, exclusive: true }, () => server.close(() => resolve(true)));
    });
  }
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return ''; // nerdctl carries on with empty content when the host file is missing
  }
}
