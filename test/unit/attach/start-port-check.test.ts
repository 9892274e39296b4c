import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ContainerNetworking } from '../../../src/app/attach/container-networking.ts';
import type { AttachDeps } from '../../../src/app/attach/deps.ts';
import type { PrepareAttachDeps } from '../../../src/app/attach/prepare.ts';
import type { UsedPort } from '../../../src/domain/publish/index.ts';

const STATE_DIR = '/store/containers/ns/a';

/** ContainerNetworking over fakes: container A publishes 127.0.0.1:8080->80; `used` is what the host reports. */
function fixture(used: UsedPort[]) {
  const calls: string[] = [];
  const deps = {
    state: {
      readNetworkConfig: async () => ({ portMappings: [{ HostPort: 8080, ContainerPort: 80, Protocol: 'tcp', HostIP: '127.0.0.1' }] }),
    },
    reserver: {
      start: async () => undefined,
      stop: async (dir: string) => void calls.push(`reserver.stop ${dir}`),
    },
  } as unknown as AttachDeps;
  const prepareDeps = {
    host: {
      usedPorts: async (except?: string) => {
        calls.push(`usedPorts except ${except}`);
        return used;
      },
    },
  } as unknown as PrepareAttachDeps;
  const networking = new ContainerNetworking('ns', deps, prepareDeps);
  return { calls, check: () => networking.assertPortsFree({ id: 'a', pid: 0, stateDir: STATE_DIR, labels: {} }) };
}

describe('start of a stopped container: its host ports must be free', () => {
  it('fails when another container or a host socket holds the same IP and port', async () => {
    const { check } = fixture([{ protocol: 'tcp', hostIP: '127.0.0.1', port: 8080 }]);
    await assert.rejects(check(), { message: 'bind for 127.0.0.1:8080 failed: port is already allocated' });
  });

  it('fails when the port is held on the wildcard address', async () => {
    const { check } = fixture([{ protocol: 'tcp', hostIP: '0.0.0.0', port: 8080 }]);
    await assert.rejects(check(), { message: 'bind for 127.0.0.1:8080 failed: port is already allocated' });
  });

  it('passes when only other ports or protocols are used', async () => {
    const { check } = fixture([
      { protocol: 'udp', hostIP: '127.0.0.1', port: 8080 },
      { protocol: 'tcp', hostIP: '127.0.0.1', port: 8081 },
    ]);
    await check();
  });

  it("releases the container's own reservation first and leaves its own stored mappings out", async () => {
    const { calls, check } = fixture([]);
    await check();
    assert.deepEqual(calls, [`reserver.stop ${STATE_DIR}`, `usedPorts except ${STATE_DIR}`]);
  });
});
