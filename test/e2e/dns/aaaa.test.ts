/**
 * AAAA and IPv6 PTR answers of the embedded resolver on a dual-stack user
 * network: busybox nslookup from a container, asking the IPv4 gateway and the
 * IPv6 one. Network d3-ds on 10.236.1.0/24 and fd00:10:236:1::/64. The
 * store's dns/resolv.conf names no upstream: nothing is forwarded anywhere.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import * as h from '../harness.ts';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { addressHash } from '../../../src/domain/settings.ts';
import { stopDnsServer } from '../../../src/adapters/dns/process-dns-server.ts';

const NET = 'd3-ds';
const GW4 = '10.236.1.1';
const GW6 = 'fd00:10:236:1::1';

let env: TestEnv;
let dnsDir: string | undefined;

const ok = (args: string[]) => h.ok(env, args);

interface Endpoint {
  IPAddress: string;
  GlobalIPv6Address: string;
}
const endpoint = async (name: string) =>
  (JSON.parse(await ok(['inspect', name])) as { NetworkSettings: { Networks: Record<string, Endpoint> } }[])[0]!.NetworkSettings.Networks[
    NET
  ]!;

/** busybox nslookup's answer addresses (the server's own block left out) and its whole output. */
async function lookup(container: string, args: string[]) {
  const r = await tsnerd(env, ['exec', container, 'nslookup', ...args], { timeoutMs: 60_000 });
  const answers = r.stdout
    .split(/\n\s*\n/)
    .slice(1)
    .join('\n');
  return { addresses: [...answers.matchAll(/^Address:\s*(\S+)$/gm)].map((m) => m[1]!), output: r.stdout + r.stderr };
}

describe('DNS: AAAA answers on a dual-stack network (e2e)', { timeout: 600_000 }, () => {
  before(async () => {
    env = await startEnv('dns3-aaaa');
    await importTestImage(env);
    dnsDir = join(env.dataRoot, addressHash(env.address), 'dns');
    await mkdir(dnsDir, { recursive: true });
    await writeFile(join(dnsDir, 'resolv.conf'), ''); // no upstream: nothing leaves the machine
    await ok(['network', 'create', NET, '--ipv6', '--subnet', 'fd00:10:236:1::/64', '--subnet', '10.236.1.0/24']);
  });

  after(async () => {
    if (env) await h.removeAllContainers(env);
    if (dnsDir) await stopDnsServer(dnsDir);
    await h.closeEnv(env, [NET]);
  });

  it('answers AAAA with the IPv6 address and A with the IPv4 one, at either gateway, and PTR for the IPv6 address', async () => {
    await ok(['run', '-d', '--name', 'd3-a', '--net', NET, 'busybox', 'sleep', '1000']);
    await ok(['run', '-d', '--name', 'd3-b', '--net', NET, 'busybox', 'sleep', '1000']);
    const b = await endpoint('d3-b');
    assert.match(b.GlobalIPv6Address, /^fd00:10:236:1::/);
    assert.match(b.IPAddress, /^10\.236\.1\./);
    await ok(['exec', 'd3-a', 'sh', '-c', ': > /etc/hosts']);

    const aaaa = await lookup('d3-a', ['-type=aaaa', 'd3-b', GW4]);
    assert.deepEqual(aaaa.addresses, [b.GlobalIPv6Address], aaaa.output);
    assert.deepEqual((await lookup('d3-a', ['-type=aaaa', 'd3-b.d3-ds', GW4])).addresses, [b.GlobalIPv6Address]);
    assert.deepEqual((await lookup('d3-a', ['-type=a', 'd3-b', GW4])).addresses, [b.IPAddress]);

    // Over IPv6 to the IPv6 gateway: the resolver binds it once the bridge's address has left
    // duplicate address detection (it retries a gateway that is not there yet every second).
    let v6 = await lookup('d3-a', ['-type=aaaa', 'd3-b', GW6]);
    for (let i = 0; i < 20 && v6.addresses.length === 0; i++) {
      await sleep(500);
      v6 = await lookup('d3-a', ['-type=aaaa', 'd3-b', GW6]);
    }
    assert.deepEqual(v6.addresses, [b.GlobalIPv6Address], v6.output);

    const ptr = await lookup('d3-a', [b.GlobalIPv6Address, GW4]);
    assert.match(ptr.output, /name = d3-b\.d3-ds\b/i);
  });

  it('answers NXDOMAIN to AAAA for an unknown name in the network domain', async () => {
    const missing = await lookup('d3-a', ['-type=aaaa', 'd3-none.d3-ds', GW4]);
    assert.deepEqual(missing.addresses, []);
    assert.match(missing.output, /NXDOMAIN/);
  });
});
