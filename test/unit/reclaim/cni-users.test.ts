import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { CacheCniUsers } from '../../../src/app/reclaim/cni-users.ts';
import { LinuxCniHostState } from '../../../src/adapters/host/linux-cni-host-state.ts';
import type { CachedAttachment, CniRuntime } from '../../../src/interfaces/cni.ts';

const attachment = (containerId: string, netns: string, networkName = 'n1'): CachedAttachment => ({
  networkName,
  containerId,
  ifName: 'eth0',
  netns,
});

describe('CacheCniUsers.live', () => {
  it("counts the live attachments of this host only (hosts sharing the CNI cache don't see each other's)", async () => {
    const cache = [
      attachment('default-here', '/proc/10/ns/net'),
      attachment('default-elsewhere', '/proc/20/ns/net'),
      attachment('default-dead', '/proc/30/ns/net'),
      attachment('default-other-net', '/proc/10/ns/net', 'n2'),
    ];
    const users = new CacheCniUsers({
      cni: { getCachedAttachments: () => Promise.resolve(cache) } as unknown as CniRuntime,
      hostCni: {
        attachmentAlive: (a) => Promise.resolve(a.netns !== '/proc/30/ns/net'),
        attachmentHere: (a) => Promise.resolve(a.netns === '/proc/10/ns/net'),
      },
      removeIpMasqChain: () => Promise.resolve(),
      removeHashChains: () => Promise.resolve(),
      withCniLock: (fn) => fn(),
    });
    assert.deepEqual(await users.live('n1'), ['default-here']);
  });
});

describe('LinuxCniHostState.attachmentHere', () => {
  const host = new LinuxCniHostState('/nonexistent-cni-cache');

  it("is true for a process whose parent shares this process's network namespace, and for a netns that is no process's", async () => {
    assert.equal(await host.attachmentHere(attachment('c', `/proc/${process.pid}/ns/net`)), true);
    assert.equal(await host.attachmentHere(attachment('c', '/var/run/netns/some-name')), true);
    assert.equal(await host.attachmentHere(attachment('c', '/proc/999999999/ns/net')), true);
  });

  it('is false for a process whose parent runs in another network namespace (another simulated host)', async (t) => {
    // sh in a new netns, and sleep its child: sleep's parent is not in ours.
    const child = spawn('unshare', ['--net', 'sh', '-c', 'sleep 30 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => child.kill('SIGKILL'));
    const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
    const pid = Number(chunk.toString().trim());
    t.after(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    });
    await sleep(50);
    assert.equal(await host.attachmentHere(attachment('c', `/proc/${pid}/ns/net`)), false);
  });
});
