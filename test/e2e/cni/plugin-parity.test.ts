/**
 * Rules tsnerd makes in place of a plugin must be the plugin's, rule for rule, so that
 * nerdctl and other runtimes see (and remove) the same ones:
 * - the bridge plugin's per-container masquerade chain (ipMasq), which tsnerd makes with one
 *   iptables-restore per family while the plugin runs with ipMasq off (domain/netfilter/ipmasq.ts);
 * - the firewall plugin's ADD once its shared chains and the bridge's isolation rules exist, and
 *   its DEL (domain/netfilter/firewall-plugin.ts), which must change nothing when a rule is missing.
 * Both are made by the real plugins and by tsnerd's adapters in a private "host" network
 * namespace of this test, for a dual-stack address pair, and compared as `iptables-save` prints them.
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

const CNI_PATH = '/usr/lib/cni';
const NODE = resolve('scripts/node');
const NETWORK = 'ms-parity';

const tag = randomBytes(3).toString('hex');
const hostNs = `ms-host-${tag}`;
const bridge = `ms${tag}`;
let dir = '';

interface Container {
  id: string;
  netns: string;
  v4: string;
  v6: string;
}
const containers: Container[] = [1, 2].map((n) => ({
  id: `ms-parity-${tag}-${n}`,
  netns: `ms-ctr-${tag}-${n}`,
  v4: `10.235.1.${n + 4}/24`,
  v6: `fd35:235:1::${n + 4}/64`,
}));

/** A table of both families in the host netns, counters and comments of the dump dropped. */
async function rules(table: 'nat' | 'filter'): Promise<string[]> {
  const out: string[] = [];
  for (const save of ['iptables-save', 'ip6tables-save']) {
    const { stdout } = await execa('ip', ['netns', 'exec', hostNs, save, '-t', table]);
    out.push(
      ...stdout
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => `${save}: ${l.replace(/ \[\d+:\d+\]$/, '')}`),
    );
  }
  return out;
}

/** A real plugin's verb in the host netns for container `c`; its stdout (the result of an ADD). */
async function plugin(type: string, verb: 'ADD' | 'DEL', c: Container, conf: Record<string, unknown>): Promise<string> {
  const { stdout } = await execa('ip', ['netns', 'exec', hostNs, `${CNI_PATH}/${type}`], {
    input: JSON.stringify({ cniVersion: '1.0.0', name: NETWORK, type, ...conf }),
    env: { CNI_COMMAND: verb, CNI_CONTAINERID: c.id, CNI_NETNS: `/var/run/netns/${c.netns}`, CNI_IFNAME: 'eth0', CNI_PATH },
  });
  return stdout;
}

/** The bridge plugin with static IPAM giving `c` its two addresses; its result. */
async function bridgePlugin(verb: 'ADD' | 'DEL', c: Container, ipMasq: boolean): Promise<Record<string, unknown>> {
  const ipam = {
    type: 'static',
    addresses: [
      { address: c.v4, gateway: '10.235.1.1' },
      { address: c.v6, gateway: 'fd35:235:1::1' },
    ],
  };
  const out = await plugin('bridge', verb, c, { bridge, isGateway: true, ipMasq, ipam });
  return verb === 'ADD' ? (JSON.parse(out) as Record<string, unknown>) : {};
}

const FIREWALL = { ingressPolicy: 'same-bridge' };

/** One exported function of one of tsnerd's adapters, run by the pinned node inside the host netns; its value. */
async function adapter(file: string, fn: string, args: unknown[]): Promise<unknown> {
  const script = join(dir, `${fn}.mjs`);
  const module = resolve('src/adapters/netfilter', file);
  await writeFile(
    script,
    `const m = await import(${JSON.stringify(module)});\nprocess.stdout.write(JSON.stringify(await m.${fn}(...${JSON.stringify(args)}) ?? null));\n`,
  );
  const { stdout } = await execa('ip', ['netns', 'exec', hostNs, NODE, script]);
  return JSON.parse(stdout) as unknown;
}

describe('rules tsnerd makes in place of the plugins (e2e)', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsnerd-parity-'));
    await execa('ip', ['netns', 'add', hostNs]);
    for (const c of containers) await execa('ip', ['netns', 'add', c.netns]);
  });
  after(async () => {
    for (const c of containers) await execa('ip', ['netns', 'del', c.netns], { reject: false });
    await execa('ip', ['netns', 'del', hostNs], { reject: false }); // its bridge, veth ends and tables go with it
    await rm(dir, { recursive: true, force: true });
  });

  it("the masquerade chain is the bridge plugin's, for IPv4 and IPv6, and its removal leaves the nat tables as before", async () => {
    const c = containers[0]!;
    const empty = await rules('nat');
    await bridgePlugin('ADD', c, true);
    const byPlugin = await rules('nat');
    assert.ok(
      byPlugin.some((l) => l.includes('MASQUERADE')),
      `the plugin made no masquerade rule:\n${byPlugin.join('\n')}`,
    );
    await bridgePlugin('DEL', c, true); // with the netns: the plugin removes its chain
    assert.deepEqual(await rules('nat'), empty);

    await adapter('ipmasq-cleanup.ts', 'addIpMasqChain', [NETWORK, c.id, [c.v4, c.v6]]);
    assert.deepEqual(await rules('nat'), byPlugin);
    await adapter('ipmasq-cleanup.ts', 'removeIpMasqChain', [NETWORK, c.id, [c.v4.split('/')[0], c.v6.split('/')[0]]]);
    assert.deepEqual(await rules('nat'), empty);
  });

  it("the firewall plugin's ADD and DEL: the same rules once its shared ones exist, nothing changed while one is missing", async () => {
    const [first, second] = containers as [Container, Container];
    // The first container on the bridge: the plugin makes the shared chains, jumps and isolation rules.
    const firstResult = await bridgePlugin('ADD', first, false);
    await plugin('firewall', 'ADD', first, { ...FIREWALL, prevResult: firstResult });

    const secondResult = await bridgePlugin('ADD', second, false);
    const shared = await rules('filter');
    await plugin('firewall', 'ADD', second, { ...FIREWALL, prevResult: secondResult });
    const byPlugin = await rules('filter');
    await plugin('firewall', 'DEL', second, { ...FIREWALL, prevResult: secondResult });
    assert.deepEqual(await rules('filter'), shared);
    assert.equal(await adapter('firewall-fast.ts', 'firewallAddFast', [FIREWALL, secondResult]), true);
    assert.deepEqual(await rules('filter'), byPlugin);
    await plugin('firewall', 'DEL', second, { ...FIREWALL, prevResult: secondResult }); // the plugin's DEL finds and removes them
    assert.deepEqual(await rules('filter'), shared);
    // tsnerd's DEL removes what the plugin's ADD made; with a rule already gone it changes nothing.
    await plugin('firewall', 'ADD', second, { ...FIREWALL, prevResult: secondResult });
    assert.equal(await adapter('firewall-fast.ts', 'firewallDelFast', [FIREWALL, secondResult]), true);
    assert.deepEqual(await rules('filter'), shared);
    await plugin('firewall', 'ADD', second, { ...FIREWALL, prevResult: secondResult });
    await execa('ip', ['netns', 'exec', hostNs, 'iptables', '-D', 'CNI-FORWARD', '-s', second.v4.replace('/24', '/32'), '-j', 'ACCEPT']);
    const partial = await rules('filter');
    assert.equal(await adapter('firewall-fast.ts', 'firewallDelFast', [FIREWALL, secondResult]), false);
    assert.deepEqual(await rules('filter'), partial);
    await plugin('firewall', 'DEL', second, { ...FIREWALL, prevResult: secondResult });
    assert.deepEqual(await rules('filter'), shared);
    // Rules left stale for the address (one copy, then two): the plugin appends only where none is,
    // and tsnerd's ADD leaves the same single copy (it appended blindly: two, then three).
    await plugin('firewall', 'ADD', second, { ...FIREWALL, prevResult: secondResult });
    await plugin('firewall', 'ADD', second, { ...FIREWALL, prevResult: secondResult });
    assert.deepEqual(await rules('filter'), byPlugin);
    assert.equal(await adapter('firewall-fast.ts', 'firewallAddFast', [FIREWALL, secondResult]), true);
    assert.deepEqual(await rules('filter'), byPlugin);
    const v4 = second.v4.replace('/24', '/32');
    const again = [`-A CNI-FORWARD -d ${v4} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`, `-A CNI-FORWARD -s ${v4} -j ACCEPT`];
    await execa('ip', ['netns', 'exec', hostNs, 'iptables-restore', '--noflush'], {
      input: ['*filter', ...again, 'COMMIT', ''].join('\n'),
    });
    assert.equal(await adapter('firewall-fast.ts', 'firewallAddFast', [FIREWALL, secondResult]), true);
    assert.deepEqual(await rules('filter'), byPlugin);
    await plugin('firewall', 'DEL', second, { ...FIREWALL, prevResult: secondResult });
    assert.deepEqual(await rules('filter'), shared);

    // A shared rule gone (a flush of FORWARD): nothing is added, the plugin must run.
    await execa('ip', ['netns', 'exec', hostNs, 'iptables', '-F', 'FORWARD']);
    const flushed = await rules('filter');
    assert.equal(await adapter('firewall-fast.ts', 'firewallAddFast', [FIREWALL, secondResult]), false);
    assert.deepEqual(await rules('filter'), flushed);
    // Another policy or backend: the plugin runs.
    assert.equal(await adapter('firewall-fast.ts', 'firewallAddFast', [{ ingressPolicy: 'isolated' }, secondResult]), false);
    assert.equal(await adapter('firewall-fast.ts', 'firewallAddFast', [{ backend: 'firewalld' }, secondResult]), false);
  });
});
