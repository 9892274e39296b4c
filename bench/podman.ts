/**
 * A private podman: its own storage root, run root, tmp dir and netavark config
 * dir, with the default network on a bench subnet. The host's podman storage and
 * networks are untouched; netavark's top-level iptables chains are removed at the
 * end unless they existed before. Rootful netavark keeps its IPAM db and aardvark-dns's config
 * in the host-wide /run/containers/networks whatever the run root: the bench's networks use
 * subnets and names of their own there.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lines, mustTime, timeCmd, type SpawnOpts, type Timed } from './proc.ts';

export const PODMAN_SUBNET = '10.210.4.0/24';
/**
 * Where netavark keeps aardvark-dns's config (a file per network with DNS): rootful podman shares
 * /run/containers/networks (and its IPAM db) between all of its instances, whatever --runroot says.
 */
const AARDVARK_DIR = '/run/containers/networks/aardvark-dns';

export class PodmanEnv {
  readonly dir: string;
  private netavarkChainsBefore = new Set<string>();
  private aardvarkDirBefore = true;
  private started = false;

  constructor(dir: string) {
    this.dir = dir;
  }

  async start(archive: string): Promise<void> {
    this.netavarkChainsBefore = await netavarkChains();
    this.aardvarkDirBefore = existsSync(AARDVARK_DIR);
    this.started = true;
    for (const d of ['root', 'runroot', 'tmp', 'net']) await mkdir(join(this.dir, d), { recursive: true });
    const q = (s: string) => JSON.stringify(s);
    await writeFile(
      join(this.dir, 'containers.conf'),
      [
        '[engine]',
        `tmp_dir = ${q(join(this.dir, 'tmp'))}`,
        'events_logger = "file"',
        `events_logfile_path = ${q(join(this.dir, 'events.log'))}`,
        'cgroup_manager = "cgroupfs"',
        '[network]',
        'network_backend = "netavark"',
        `network_config_dir = ${q(join(this.dir, 'net'))}`,
        `default_subnet = ${q(PODMAN_SUBNET)}`,
        '',
      ].join('\n'),
    );
    await mustTime('podman', [...this.globals(), 'load', '-i', archive], this.opts({ timeoutMs: 120_000 }));
  }

  /** `podman run` flags this machine needs: podman's default rlimits exceed the hard limits here. */
  async ulimitFlags(): Promise<string[]> {
    const limits = await readFile('/proc/self/limits', 'utf8');
    const hard = (name: string) => Number(new RegExp(`${name}\\s+\\S+\\s+(\\d+)`).exec(limits)?.[1] ?? 1024);
    const nofile = hard('Max open files');
    return ['--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', 'nproc=4096:4096'];
  }

  /**
   * Whether aardvark-dns serves `network`: netavark wrote its config file and an aardvark-dns runs
   * on that config dir. Rootful podman keeps both in the host-wide run dir, whatever the run root.
   */
  async aardvarkServes(network: string): Promise<boolean> {
    if (!existsSync(join(AARDVARK_DIR, network))) return false;
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      const [bin = '', ...args] = cmdline.split('\0');
      if (bin.endsWith('aardvark-dns') && args.includes(AARDVARK_DIR)) return true;
    }
    return false;
  }

  run(args: readonly string[], opts: SpawnOpts = {}): Promise<Timed> {
    return timeCmd('podman', [...this.globals(), ...args], this.opts(opts));
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    await this.run(['rm', '-f', '-a', '-t', '0'], { timeoutMs: 120_000 });
    await this.run(['system', 'reset', '-f'], { timeoutMs: 120_000 });
    // netavark stops aardvark-dns with the last container of its networks; its config dir stays
    if (!this.aardvarkDirBefore) await rmdir(AARDVARK_DIR).catch(() => undefined);
    await unmountUnder(this.dir);
    await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
    if (this.netavarkChainsBefore.size === 0) await removeNetavarkChains();
  }

  private globals(): string[] {
    return ['--root', join(this.dir, 'root'), '--runroot', join(this.dir, 'runroot'), '--storage-driver', 'overlay'];
  }

  private opts(opts: SpawnOpts): SpawnOpts {
    return { ...opts, env: { ...opts.env, CONTAINERS_CONF: join(this.dir, 'containers.conf') } };
  }
}

async function netavarkChains(): Promise<Set<string>> {
  const chains = new Set<string>();
  for (const table of ['filter', 'nat']) {
    for (const l of lines((await timeCmd('iptables', ['-w', '-t', table, '-S'])).stdout)) {
      const m = /^-N (NETAVARK\S*)/.exec(l);
      if (m) chains.add(`${table}/${m[1]}`);
    }
  }
  return chains;
}

async function removeNetavarkChains(): Promise<void> {
  for (const table of ['filter', 'nat']) {
    const rules = lines((await timeCmd('iptables', ['-w', '-t', table, '-S'])).stdout);
    // jumps from the built-in chains first, then flush and delete netavark's own
    for (const r of rules.filter((l) => /^-A (?!NETAVARK)\S+ .*-j NETAVARK/.test(l))) {
      await timeCmd('iptables', ['-w', '-t', table, '-D', ...splitRule(r.slice(3))]);
    }
    const chains = rules.filter((l) => l.startsWith('-N NETAVARK')).map((l) => l.split(' ')[1]!);
    for (const c of chains) await timeCmd('iptables', ['-w', '-t', table, '-F', c]);
    for (const c of chains) await timeCmd('iptables', ['-w', '-t', table, '-X', c]);
  }
}

/** iptables -S quotes comments with double quotes. */
function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\"/g, '"') : m[2]!));
}

async function unmountUnder(dir: string): Promise<void> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = lines(info)
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await timeCmd('umount', ['-l', p]);
}
