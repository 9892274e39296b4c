/**
 * The kernel side of an overlay, as flanneld's vxlan backend sets it up: a
 * VXLAN device `flannel.<VNI>` without learning, holding this host's VTEP
 * address; per peer a route to its subnet via its VTEP address (onlink), a
 * permanent neighbour entry (VTEP address → VTEP MAC) and an FDB entry (VTEP
 * MAC → public IP). Masquerading of what leaves the overlay, in chains of our
 * own. Runs `ip`, `bridge` and `iptables` through node:child_process.
 */
import { lookup } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { TsnerdError, internal } from '../../domain/errors.ts';
import { type Peer, formatNet, vtepAddress } from '../../domain/overlay/flannel.ts';
import type { OverlayHost, Underlay, VxlanDevice } from '../../interfaces/overlay.ts';
import { runProcess } from '../host/run-process.ts';

const TIMEOUT_MS = 15_000;

async function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  const r = await runProcess(cmd, args, { timeoutMs: TIMEOUT_MS, ...(input === undefined ? {} : { input }) });
  if (r.exitCode !== 0) {
    const why = r.spawnError?.message ?? (r.stderr.trim() || `exit ${r.exitCode ?? r.signal}`);
    throw internal(`${cmd} ${args.join(' ')}: ${why}`);
  }
  return r.stdout;
}

async function tryRun(cmd: string, args: readonly string[]): Promise<boolean> {
  return (await runProcess(cmd, args, { timeoutMs: TIMEOUT_MS })).exitCode === 0;
}

async function json<T>(cmd: string, args: readonly string[]): Promise<T[]> {
  const text = (await run(cmd, args)).trim();
  return text === '' ? [] : (JSON.parse(text) as T[]);
}

interface LinkJson {
  ifname: string;
  mtu?: number;
  address?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number; learning?: boolean } };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

const natChain = (vni: number) => `TSNERD-OVL-POST-${vni}`;
const filterChain = (vni: number) => `TSNERD-OVL-FWD-${vni}`;

/** An overlay's rules: per table its chain, the chain's rules and the jump to it (after `-A POSTROUTING`/`-A FORWARD`). */
function masquerade(vni: number, network: string, subnet: string) {
  const comment = `-m comment --comment "tsnerd overlay vni ${vni}"`;
  return {
    nat: {
      chain: natChain(vni),
      rules: [`-s ${subnet} -d ${network} -j RETURN`, `-s ${subnet} ! -d 224.0.0.0/4 -j MASQUERADE`],
      jump: `-s ${subnet} ${comment} -j ${natChain(vni)}`,
    },
    filter: {
      chain: filterChain(vni),
      rules: [`-s ${network} -j ACCEPT`, `-d ${network} -j ACCEPT`],
      jump: `${comment} -j ${filterChain(vni)}`,
    },
  };
}

export class LinuxOverlayHost implements OverlayHost {
  async underlay(etcdEndpoints: readonly string[], explicitIp: string | undefined): Promise<Underlay> {
    if (explicitIp !== undefined) {
      const links = await json<LinkJson>('ip', ['-j', 'addr', 'show']);
      const link = links.find((l) => (l.addr_info ?? []).some((a) => a.family === 'inet' && a.local === explicitIp));
      if (!link) throw new TsnerdError('invalid', `public-ip ${explicitIp} is not an address of this host`);
      return { ip: explicitIp, iface: link.ifname, mtu: link.mtu ?? 1500 };
    }
    for (const endpoint of etcdEndpoints) {
      const host = new URL(endpoint).hostname.replace(/^\[|\]$/g, '');
      const ip = isIPv4(host)
        ? host
        : await lookup(host, { family: 4 }).then(
            (r) => r.address,
            () => undefined,
          );
      if (ip === undefined) continue;
      const route = (await json<{ dev?: string; prefsrc?: string }>('ip', ['-j', 'route', 'get', ip]).catch(() => []))[0];
      if (route?.dev && route.dev !== 'lo' && route.prefsrc) return this.withMtu(route.prefsrc, route.dev);
    }
    // etcd on this host (loopback): the interface of the default route, as flanneld picks.
    const route = (await json<{ dev?: string; prefsrc?: string }>('ip', ['-j', 'route', 'get', '1.1.1.1']).catch(() => []))[0];
    if (route?.dev && route.dev !== 'lo' && route.prefsrc) return this.withMtu(route.prefsrc, route.dev);
    throw new TsnerdError('precondition', 'cannot tell the address other hosts reach this one at: give -o public-ip=<address>');
  }

  private async withMtu(ip: string, iface: string): Promise<Underlay> {
    const [link] = await json<LinkJson>('ip', ['-j', 'link', 'show', 'dev', iface]);
    return { ip, iface, mtu: link?.mtu ?? 1500 };
  }

  async deviceExists(device: string): Promise<boolean> {
    return tryRun('ip', ['link', 'show', 'dev', device]);
  }

  async ensureDevice(d: VxlanDevice): Promise<void> {
    const [link] = await json<LinkJson>('ip', ['-j', '-d', 'link', 'show', 'dev', d.name]).catch(() => []);
    const data = link?.linkinfo?.info_data;
    const same =
      link?.linkinfo?.info_kind === 'vxlan' &&
      data?.id === d.vni &&
      data.local === d.localIp &&
      data.port === d.port &&
      link.address === d.mac;
    // One `ip -batch` (stops at the first failure): a changed device is made anew, an equal one kept as is.
    const lines = [
      ...(link && !same ? [`link del dev ${d.name}`] : []),
      ...(same
        ? []
        : [
            `link add ${d.name} type vxlan id ${d.vni} local ${d.localIp} dev ${d.iface} dstport ${d.port} nolearning`,
            `link set dev ${d.name} address ${d.mac}`,
          ]),
      `link set dev ${d.name} mtu ${d.mtu} up`,
      `addr replace ${d.address}/32 dev ${d.name}`,
    ];
    await run('ip', ['-batch', '-'], `${lines.join('\n')}\n`);
    // Containers' traffic is routed between the bridge and the device.
    await writeFile('/proc/sys/net/ipv4/ip_forward', '1').catch(() => undefined);
  }

  async syncPeers(device: string, peers: readonly Peer[]): Promise<void> {
    const wantRoutes = new Map(peers.map((p) => [formatNet(p.subnet), p]));
    const wantNeigh = new Map(peers.map((p) => [vtepAddress(p.subnet), p.vtepMac]));
    const wantFdb = new Map(peers.map((p) => [p.vtepMac, p.publicIp]));
    const routes = await json<{ dst: string; gateway?: string }>('ip', ['-j', 'route', 'show', 'dev', device]);
    const neighs = await json<{ dst: string; lladdr?: string }>('ip', ['-j', 'neigh', 'show', 'dev', device]);
    const fdbs = await json<{ mac: string; dst?: string }>('bridge', ['-j', 'fdb', 'show', 'dev', device]);
    const ipLines: string[] = [];
    const fdbLines: string[] = [];
    for (const r of routes) {
      const p = wantRoutes.get(r.dst);
      if (!p || r.gateway !== vtepAddress(p.subnet)) ipLines.push(`route del ${r.dst} dev ${device}`);
    }
    for (const n of neighs) if (wantNeigh.get(n.dst) !== n.lladdr) ipLines.push(`neigh del ${n.dst} dev ${device}`);
    for (const f of fdbs) {
      if (f.dst !== undefined && wantFdb.get(f.mac) !== f.dst) fdbLines.push(`fdb del ${f.mac} dev ${device} dst ${f.dst} self`);
    }
    for (const p of peers) {
      fdbLines.push(`fdb replace ${p.vtepMac} dev ${device} dst ${p.publicIp} self permanent`);
      ipLines.push(`neigh replace ${vtepAddress(p.subnet)} lladdr ${p.vtepMac} dev ${device} nud permanent`);
      ipLines.push(`route replace ${formatNet(p.subnet)} via ${vtepAddress(p.subnet)} dev ${device} onlink`);
    }
    // FDB first: a neighbour and route are only useful once frames have a destination.
    if (fdbLines.length > 0) await run('bridge', ['-force', '-batch', '-'], `${fdbLines.join('\n')}\n`);
    if (ipLines.length > 0) await run('ip', ['-force', '-batch', '-'], `${ipLines.join('\n')}\n`);
  }

  async ensureMasquerade(vni: number, network: string, subnet: string): Promise<void> {
    const m = masquerade(vni, network, subnet);
    const [hasNat, hasFilter] = await Promise.all([
      tryRun('iptables', ['-w', '-t', 'nat', '-C', 'POSTROUTING', ...splitRule(m.nat.jump)]),
      tryRun('iptables', ['-w', '-t', 'filter', '-C', 'FORWARD', ...splitRule(m.filter.jump)]),
    ]);
    // One iptables-restore: declaring a chain under --noflush creates it or empties it.
    const rules = [
      '*nat',
      `:${m.nat.chain} - [0:0]`,
      ...m.nat.rules.map((r) => `-A ${m.nat.chain} ${r}`),
      ...(hasNat ? [] : [`-A POSTROUTING ${m.nat.jump}`]),
      'COMMIT',
      '*filter',
      `:${m.filter.chain} - [0:0]`,
      ...m.filter.rules.map((r) => `-A ${m.filter.chain} ${r}`),
      ...(hasFilter ? [] : [`-A FORWARD ${m.filter.jump}`]),
      'COMMIT',
      '',
    ];
    await run('iptables-restore', ['-w', '--noflush'], rules.join('\n'));
  }

  async masqueradeIntact(vni: number, network: string, subnet: string): Promise<boolean> {
    const m = masquerade(vni, network, subnet);
    const checks = [
      ['nat', 'POSTROUTING', m.nat.jump],
      ['filter', 'FORWARD', m.filter.jump],
      ...m.nat.rules.map((r) => ['nat', m.nat.chain, r]),
      ...m.filter.rules.map((r) => ['filter', m.filter.chain, r]),
    ] as const;
    for (const [table, chain, rule] of checks)
      if (!(await tryRun('iptables', ['-w', '-t', table, '-C', chain, ...splitRule(rule)]))) return false;
    return true;
  }

  async teardown(device: string, vni: number): Promise<void> {
    if (await this.deviceExists(device)) await run('ip', ['link', 'del', 'dev', device]);
    for (const [table, from, chain] of [
      ['nat', 'POSTROUTING', natChain(vni)],
      ['filter', 'FORWARD', filterChain(vni)],
    ] as const) {
      // Every rule that jumps to the chain, whatever its match (the subnet may have changed).
      const rules = (await runProcess('iptables', ['-w', '-t', table, '-S', from], { timeoutMs: TIMEOUT_MS })).stdout.split('\n');
      for (const rule of rules.filter((r) => r.endsWith(`-j ${chain}`))) {
        await run('iptables', ['-w', '-t', table, ...splitRule(rule.replace(/^-A /, '-D '))]);
      }
      if (await tryRun('iptables', ['-w', '-t', table, '-F', chain])) await run('iptables', ['-w', '-t', table, '-X', chain]);
    }
  }
}

/** `iptables -S` output back into argv (quoted comments kept whole). */
function splitRule(rule: string): string[] {
  const out: string[] = [];
  for (const m of rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out;
}
