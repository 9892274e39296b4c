/**
 * tsnerd makes a container's masquerade chain itself (one iptables-restore per family) and runs
 * the bridge plugin with ipMasq off (domain/netfilter/ipmasq.ts). What it makes must be what the
 * real plugin's ADD makes, rule for rule, so that nerdctl and other runtimes see (and remove) the
 * same chain. Both are made in a private "host" network namespace of this test, for a dual-stack
 * address pair, and compared as `iptables-save` prints them; then tsnerd's removal leaves that
 * namespace's nat tables as they were.
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
const ADAPTER = resolve('src/adapters/netfilter/ipmasq-cleanup.ts');
const NETWORK = 'ms-parity';
const V4 = '10.235.1.5/24';
const V6 = 'fd35:235:1::5/64';

const tag = randomBytes(3).toString('hex');
const hostNs = `ms-host-${tag}`;
const ctrNs = `ms-ctr-${tag}`;
const containerId = `ms-parity-${tag}`;
let dir = '';

/** The nat table of both families in the host netns, counters and comments of the dump dropped. */
async function natRules(): Promise<string[]> {
  const out: string[] = [];
  for (const save of ['iptables-save', 'ip6tables-save']) {
    const { stdout } = await execa('ip', ['netns', 'exec', hostNs, save, '-t', 'nat']);
    out.push(
      ...stdout
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => `${save}: ${l.replace(/ \[\d+:\d+\]$/, '')}`),
    );
  }
  return out;
}

/** The bridge plugin's verb in the host netns, ipMasq on, static IPAM with the two addresses. */
async function bridgePlugin(verb: 'ADD' | 'DEL'): Promise<void> {
  const conf = {
    cniVersion: '1.0.0',
    name: NETWORK,
    type: 'bridge',
    bridge: `ms${tag}`,
    isGateway: true,
    ipMasq: true,
    ipam: {
      type: 'static',
      addresses: [
        { address: V4, gateway: '10.235.1.1' },
        { address: V6, gateway: 'fd35:235:1::1' },
      ],
    },
  };
  await execa('ip', ['netns', 'exec', hostNs, `${CNI_PATH}/bridge`], {
    input: JSON.stringify(conf),
    env: { CNI_COMMAND: verb, CNI_CONTAINERID: containerId, CNI_NETNS: `/var/run/netns/${ctrNs}`, CNI_IFNAME: 'eth0', CNI_PATH },
  });
}

/** One of the adapter's functions, run by the pinned node inside the host netns. */
async function adapter(fn: 'addIpMasqChain' | 'removeIpMasqChain', args: unknown[]): Promise<void> {
  const script = join(dir, `${fn}.mjs`);
  await writeFile(script, `const m = await import(${JSON.stringify(ADAPTER)});\nawait m.${fn}(...${JSON.stringify(args)});\n`);
  await execa('ip', ['netns', 'exec', hostNs, NODE, script]);
}

describe('the masquerade chain tsnerd makes in place of the bridge plugin (e2e)', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsnerd-ipmasq-'));
    await execa('ip', ['netns', 'add', hostNs]);
    await execa('ip', ['netns', 'add', ctrNs]);
  });
  after(async () => {
    await execa('ip', ['netns', 'del', ctrNs], { reject: false });
    await execa('ip', ['netns', 'del', hostNs], { reject: false }); // its bridge, veth ends and tables go with it
    await rm(dir, { recursive: true, force: true });
  });

  it('is rule for rule what the real plugin makes, for IPv4 and IPv6, and its removal leaves the nat tables as before', async () => {
    const empty = await natRules();
    await bridgePlugin('ADD');
    const byPlugin = await natRules();
    assert.ok(
      byPlugin.some((l) => l.includes('MASQUERADE')),
      `the plugin made no masquerade rule:\n${byPlugin.join('\n')}`,
    );
    await bridgePlugin('DEL'); // with the netns: the plugin removes its chain
    assert.deepEqual(await natRules(), empty);

    await adapter('addIpMasqChain', [NETWORK, containerId, [V4, V6]]);
    assert.deepEqual(await natRules(), byPlugin);
    await adapter('removeIpMasqChain', [NETWORK, containerId, [V4.split('/')[0], V6.split('/')[0]]]);
    assert.deepEqual(await natRules(), empty);
  });
});
