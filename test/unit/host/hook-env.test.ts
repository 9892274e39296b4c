import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hookPath } from '../../../src/adapters/host/daemon-process.ts';
import { LinuxContainerNetworkHost } from '../../../src/adapters/host/linux-container-network-host.ts';
import { ProcessPortReserver } from '../../../src/adapters/host/process-port-reserver.ts';
import type { Settings } from '../../../src/domain/settings.ts';
import type { StoreLayout } from '../../../src/domain/store-layout.ts';
import type { ContainerStateFiles } from '../../../src/interfaces/container-state.ts';
import type { Request } from '../../../src/reserver/protocol.ts';

const SBIN = '/usr/local/sbin:/usr/sbin:/sbin';

/** The exit command the port holder is given for a watched container, caught by a fake holder on its socket. */
async function exitCommandPath(settings: Settings): Promise<string | undefined> {
  const dir = join(settings.dataRoot, 'portholder');
  await mkdir(dir, { recursive: true });
  let request: Request | undefined;
  const server = createServer((socket) => {
    socket.setEncoding('utf8');
    let text = '';
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (!text.includes('\n')) return;
      request = JSON.parse(text.split('\n')[0]!) as Request;
      socket.end('{"ok":true}\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(join(dir, 'holder.sock'), resolve));
  try {
    await new ProcessPortReserver(settings.dataRoot, settings).start([], join(settings.dataRoot, 'state'), {
      id: 'c1',
      pid: process.pid,
      annotations: {},
    });
  } finally {
    server.close();
  }
  return request?.op === 'reserve' ? request.reservation.onExit?.env['PATH'] : undefined;
}

describe('the PATH of the processes that run CNI plugins', () => {
  it('is the caller PATH with sbin appended, or a default one with it', () => {
    assert.equal(hookPath({ PATH: '/opt/bin:/usr/bin' }), `/opt/bin:/usr/bin:${SBIN}`);
    assert.equal(hookPath({}), `/usr/local/bin:/usr/bin:/bin:${SBIN}`);
    // a hook's PATH given to a process it starts: not appended again
    assert.equal(hookPath({ PATH: hookPath({ PATH: '/opt/bin:/usr/sbin' }) }), '/opt/bin:/usr/sbin:/usr/local/sbin:/sbin');
  });

  it('is the same for the OCI hooks and the port holder exit command, from one source', async (t) => {
    const settings: Settings = {
      address: '/run/fx.sock',
      namespace: 'fx',
      dataRoot: await mkdtemp(join(tmpdir(), 'fx-hook-env-')),
      cniPath: '/usr/lib/cni',
      cniNetconfPath: '/etc/cni/net.d',
      debug: false,
    };
    t.after(() => rm(settings.dataRoot, { recursive: true, force: true }));
    const saved = process.env['PATH'];
    try {
      for (const path of ['/opt/fx/bin:/usr/bin', undefined]) {
        if (path === undefined) delete process.env['PATH'];
        else process.env['PATH'] = path;
        const host = new LinuxContainerNetworkHost(settings, {} as StoreLayout, {} as ContainerStateFiles);
        const hookPaths = (host.hook('createRuntime').env ?? []).filter((e) => e.startsWith('PATH='));
        assert.deepEqual(hookPaths, [`PATH=${hookPath({ PATH: path })}`]);
        assert.equal(await exitCommandPath(settings), hookPath({ PATH: path }));
      }
    } finally {
      process.env['PATH'] = saved;
    }
  });
});
