/**
 * A full disk under the data store: the data root on a small tmpfs, filled so that
 * only N pages are left, then `run -d --net <custom> -p` of a second container beside a
 * running one. Whatever N, the run either works or fails with one line (exit 1, no stack),
 * the running peer's hosts and resolv.conf stay whole, and once the disk has room again
 * `rm -f` of what the run made leaves the host as the baseline taken with only the peer
 * running (no address, rule, port, hosts line or record left).
 *
 * The same for `rm -f` (which needs no room) and `network connect`.
 *
 * Names ms-df*, subnets 10.235.31.0/24 and 10.235.32.0/24, host ports 37610-37619.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, rmdir, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import * as h from '../harness.ts';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { snapshotHostState, waitForHostState, type HostState, type HostStateScope } from '../host-state.ts';
import { addressHash } from '../../../src/domain/settings.ts';
import { FileHostsStore } from '../../../src/adapters/store/hosts-store.ts';
import { hostsRenderer, type HostsMeta } from '../../../src/domain/dns/hosts-file.ts';
import { StoreLayout } from '../../../src/domain/store-layout.ts';

const NET = 'ms-dfnet';
const SUBNET = '10.235.31.0/24';
const SUBNET2 = '10.235.32.0/24';
const PORT = 37610 + Math.floor(Math.random() * 10);
const SCOPE: HostStateScope = { networks: [NET], ports: [37610, 37619] };
const NET2 = 'ms-dfnet2';
const SCOPE2: HostStateScope = { networks: [NET, NET2], ports: [37610, 37619] };
const PAGE = 4096;
/** Pages left free before each run: from none to enough for a whole start. */
const FREE_PAGES = process.env['DF_PAGES'] ? process.env['DF_PAGES'].split(',').map(Number) : [0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64];

let env: TestEnv;
let mounted = false;
let baseline: HostState;
let baseline2: HostState;

const ok = (args: string[]) => h.ok(env, args);
const filler = () => join(env.dataRoot, 'filler');

/** Fills the data root's file system so that `pages` pages are left. */
async function fill(pages: number): Promise<void> {
  await rm(filler(), { force: true });
  const s = await statfs(env.dataRoot);
  const free = s.bavail * s.bsize;
  const size = free - pages * PAGE;
  if (size > 0) await execa('fallocate', ['-l', String(size), filler()]);
}

/** The peer's files a join or a leave rewrites, as they are now. */
async function peerFiles(): Promise<{ hosts: string; resolv: string }> {
  const id = (await ok(['inspect', '--format', '{{.Id}}', 'ms-dfpeer'])).trim();
  const hash = addressHash(env.address);
  const hosts = await readFile(join(env.dataRoot, hash, 'etchosts', env.namespace, id, 'hosts'), 'utf8');
  const containers = join(env.dataRoot, hash, 'containers', env.namespace, id);
  const resolv = await readFile(join(containers, 'resolv.conf'), 'utf8');
  return { hosts, resolv };
}

describe('a full disk under the data store', { concurrency: false }, () => {
  before(async () => {
    env = await startEnv('ms-df');
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0711', 'ms-df', env.dataRoot]);
    mounted = true;
    await importTestImage(env);
    await ok(['network', 'create', NET, '--subnet', SUBNET]);
    await ok(['run', '-d', '--name', 'ms-dfpeer', '--net', NET, 'busybox', 'sleep', '1000']);
    await ok(['network', 'create', NET2, '--subnet', SUBNET2]);
    baseline = await snapshotHostState(env, SCOPE);
    // The second network's bridge and its DNS rules, made by its first attachment, stay with the network.
    await ok(['network', 'connect', NET2, 'ms-dfpeer']);
    await ok(['network', 'disconnect', NET2, 'ms-dfpeer']);
    baseline2 = await snapshotHostState(env, SCOPE2);
  });

  after(async () => {
    if (env) {
      await rm(filler(), { force: true }).catch(() => undefined);
      await tsnerd(env, ['rm', '-f', 'ms-dfpeer', 'ms-dfweb']);
      await tsnerd(env, ['network', 'rm', NET, NET2]);
    }
    try {
      if (mounted) await execa('umount', ['-l', env.dataRoot]);
    } finally {
      await env?.stop();
    }
  });

  for (const pages of FREE_PAGES) {
    it(`run -d -p with ${pages} page(s) left: works or fails whole, the peer's files intact, nothing left after rm -f`, async () => {
      const peerBefore = await peerFiles();
      await fill(pages);
      let r: h.RunResult;
      try {
        r = await tsnerd(env, [
          ...(process.env['DF_DEBUG'] ? ['--debug'] : []),
          'run',
          '-d',
          '--name',
          'ms-dfweb',
          '--net',
          NET,
          '-p',
          `127.0.0.1:${PORT}:80`,
          'busybox',
          'httpd',
          '-f',
          '-p',
          '80',
        ]);
      } finally {
        await rm(filler(), { force: true });
      }
      console.log(`${pages} page(s): exit ${r.exitCode} ${r.exitCode === 0 ? '' : r.stderr.trim()}`);
      try {
        if (r.exitCode !== 0) {
          assert.equal(r.exitCode, 1, `exit ${r.exitCode}: ${r.stderr}`);
          if (!process.env['DF_DEBUG']) {
            assert.equal(r.stderr.trim().split('\n').length, 1, `more than one line:\n${r.stderr}`);
            assert.doesNotMatch(r.stderr, / at |node:/, 'a stack trace');
          }
          assert.deepEqual(await peerFiles(), peerBefore, "a failed run changed the peer's files");
        }
      } finally {
        if (process.env['DF_DUMP'])
          console.log(
            (
              await execa(
                'sh',
                [
                  '-c',
                  `find ${env.dataRoot} -type f | sort; for f in $(find ${env.dataRoot} /run/tsnerd* -name '*.log' 2>/dev/null); do echo "== $f"; tail -30 $f; done`,
                ],
                { reject: false },
              )
            ).stdout,
          );
        const rmf = await tsnerd(env, ['rm', '-f', 'ms-dfweb']);
        assert.ok(rmf.exitCode === 0 || /no such container/i.test(rmf.stderr), `rm -f: ${rmf.stderr}`);
      }
      assert.deepEqual(await peerFiles(), peerBefore, "the peer's files differ after rm -f");
      const differences = await waitForHostState(env, SCOPE, baseline, 3_000);
      assert.deepEqual(differences, [], `host state differs from the baseline:\n${differences.join('\n')}`);
    });
  }

  it('rm -f of a running container on a full disk removes it whole', async () => {
    await ok(['run', '-d', '--name', 'ms-dfweb', '--net', NET, '-p', `127.0.0.1:${PORT}:80`, 'busybox', 'httpd', '-f', '-p', '80']);
    await fill(0);
    let r: h.RunResult;
    try {
      r = await tsnerd(env, ['rm', '-f', 'ms-dfweb']);
    } finally {
      await rm(filler(), { force: true });
    }
    assert.equal(r.exitCode, 0, r.stderr);
    const differences = await waitForHostState(env, SCOPE, baseline, 3_000);
    assert.deepEqual(differences, [], `host state differs from the baseline:\n${differences.join('\n')}`);
  });

  for (const pages of [0, 2, 8]) {
    it(`network connect with ${pages} page(s) left: works or fails whole; disconnect leaves nothing`, async () => {
      const peerBefore = await peerFiles();
      await fill(pages);
      let r: h.RunResult;
      try {
        r = await tsnerd(env, ['network', 'connect', NET2, 'ms-dfpeer']);
      } finally {
        await rm(filler(), { force: true });
      }
      console.log(`connect, ${pages} page(s): exit ${r.exitCode} ${r.stderr.trim()}`);
      if (r.exitCode !== 0) {
        assert.equal(r.exitCode, 1, r.stderr);
        assert.equal(r.stderr.trim().split('\n').length, 1, `more than one line:\n${r.stderr}`);
        assert.deepEqual(await peerFiles(), peerBefore, "a failed connect changed the peer's files");
      } else {
        await ok(['network', 'disconnect', NET2, 'ms-dfpeer']);
      }
      const differences = await waitForHostState(env, SCOPE2, baseline2, 3_000);
      assert.deepEqual(differences, [], `host state differs from the baseline:\n${differences.join('\n')}`);
    });
  }
});

/**
 * The hosts store alone on a full tmpfs: a peer whose hosts file ends a few bytes short of a
 * page, so that a newcomer's lines need a page the disk does not have. Its file must stay as it
 * was (a write to a file may stop short without an error: the old code took that for done and
 * left the peer's file cut in the middle of a line, without its end marker), the join must fail,
 * and the rollback's release must leave the peer's file as before.
 */
describe('the hosts store on a full disk', () => {
  const meta = (n: number, extra: Record<string, string>): HostsMeta => ({
    ID: `${n}`.padStart(4, '0').repeat(16),
    Name: `ms-df${n}`,
    Hostname: `h${n}`,
    Domainname: '',
    ExtraHosts: extra,
    Networks: { n1: { ips: [{ address: `10.235.33.${n + 1}/24` }] } },
  });

  /** A peer whose own hosts file is 16 bytes short of a page (4096). */
  function nearPage(): HostsMeta {
    const extra: Record<string, string> = {};
    const size = (): number => {
      const m = meta(1, extra);
      return Buffer.byteLength(hostsRenderer([m])('', m));
    };
    for (let i = 0; size() < 4096 - 200; i++) extra[`x${String(i).padStart(3, '0')}`] = '192.0.2.1';
    const base = size();
    extra['y'] = '192.0.2.1';
    const perLine = size() - base - 1; // a line's bytes besides its name
    delete extra['y'];
    extra['y'.padEnd(4096 - 16 - base - perLine, 'y')] = '192.0.2.1';
    return meta(1, extra);
  }

  it("a join that needs room the disk lacks fails and leaves the peer's file as it was; the release too", async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'tsnerd-ms-df-hosts-'));
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'ms-df-hosts', root]);
    t.after(async () => {
      await execa('umount', [root]);
      await rmdir(root);
    });
    const layout = new StoreLayout(root, '/run/ms-df.sock');
    const store = new FileHostsStore(layout);
    const peer = nearPage();
    const newcomer = meta(2, {});
    await store.allocate('ns', peer.ID, '');
    await store.acquire('ns', peer);
    // The newcomer's own file already has its page (as a start's placeholder would): only the peer's needs room.
    await store.allocate('ns', newcomer.ID, '#'.repeat(3000));
    const peerFile = join(layout.hostsDir('ns', peer.ID), 'hosts');
    const before = await readFile(peerFile, 'utf8');
    assert.equal(Buffer.byteLength(before), 4096 - 16, 'the peer file ends 16 bytes short of a page');
    const s = await statfs(root);
    // One page left: the newcomer's meta.json takes it (written first), the peer's insert finds none.
    await execa('fallocate', ['-l', String((s.bavail - 1) * s.bsize), join(root, 'filler')]);
    await assert.rejects(store.acquire('ns', newcomer), /no space left on device/);
    assert.equal(await readFile(peerFile, 'utf8'), before, "the failed join changed the peer's file");
    await store.release('ns', newcomer.ID);
    assert.equal(await readFile(peerFile, 'utf8'), before, "the release changed the peer's file");
    await rm(join(root, 'filler'));
    await store.acquire('ns', newcomer);
    assert.match(await readFile(peerFile, 'utf8'), /^10\.235\.33\.3 +h2 /m, 'with room again, the join works');
  });
});
