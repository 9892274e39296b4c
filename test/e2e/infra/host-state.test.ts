/**
 * The host-state baseline (test/e2e/host-state.ts) sees what a published
 * container adds, and nothing once it is removed. Network gc-hs in
 * 10.211.1.0/24, host ports 39100-39109.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as h from '../harness.ts';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { diffHostState, snapshotHostState, waitForHostState, type HostStateScope } from '../host-state.ts';

const NET = 'gc-hs';
const PORT = 39100;
const scope: HostStateScope = { networks: [NET], ports: [39100, 39109] };

describe('host state baseline', { timeout: 180_000 }, () => {
  let env: TestEnv;
  const ok = (args: string[]) => h.ok(env, args);
  before(async () => {
    env = await startEnv('gc-host-state');
    await importTestImage(env);
    await ok(['network', 'create', NET, '--subnet', '10.211.1.0/24']);
  });
  after(async () => {
    if (!env) return;
    await tsnerd(env, ['network', 'rm', NET]); // and its bridge, which the harness would report as left behind
    await env.stop();
  });

  it('shows every kind of state a published container holds, and none after rm -f', async () => {
    const baseline = await snapshotHostState(env, scope);
    await ok(['run', '-d', '--name', 'gc-hs-a', '--net', NET, '-p', `127.0.0.1:${PORT}:80`, 'busybox', 'sleep', '300']);
    const running = await snapshotHostState(env, scope);
    const kinds = new Set(diffHostState(baseline, running).map((l) => l.split(':')[0]));
    for (const kind of [
      'bridges',
      'veths',
      'iptables-rules',
      'iptables-chains',
      'host-local',
      'cni-cache',
      'listening',
      'hosts-lines',
      'data-store',
      'containerd',
    ]) {
      assert.ok(kinds.has(kind), `no ${kind} difference while the container runs: ${[...kinds].join(', ')}`);
    }
    await ok(['rm', '-f', 'gc-hs-a']);
    // The bridge stays (CNI never deletes it), and with it the network's DNS rules in INPUT (made by its
    // first container, removed with the bridge: docs/dns.md): compare against the state with both.
    const dnsRules = running['iptables-rules'].filter((r) => r.includes('tsnerd-dns'));
    assert.equal(dnsRules.length, 2, `the network's DNS rules (udp and tcp): ${dnsRules.join(' | ')}`);
    const withBridge = { ...baseline, bridges: running.bridges, 'iptables-rules': [...baseline['iptables-rules'], ...dnsRules].sort() };
    assert.deepEqual(await waitForHostState(env, scope, withBridge), []);
  });
});
