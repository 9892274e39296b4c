import { describe, it } from 'node:test';
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileHostsStore, MEMBERS_INDEX } from '../../../src/adapters/store/hosts-store.ts';
import { hostsRenderer, type HostsMeta } from '../../../src/domain/dns/hosts-file.ts';
import { StoreLayout } from '../../../src/domain/store-layout.ts';

const renderHostsFile = (current: string, me: HostsMeta, all: readonly HostsMeta[]): string => hostsRenderer(all)(current, me);

const meta = (n: number, nets: Record<string, string>): HostsMeta => ({
  ID: `${n}`.padStart(4, '0').repeat(16),
  Name: `c${n}`,
  Hostname: `h${n}`,
  Domainname: '',
  ExtraHosts: {},
  Networks: Object.fromEntries(Object.entries(nets).map(([net, ip]) => [net, { ips: [{ address: `${ip}/24` }] }])),
});

const sortedLines = (text: string): string[] => text.split('\n').sort();

async function withStore(
  fn: (store: FileHostsStore, hostsPath: (m: HostsMeta) => string, layout: StoreLayout) => Promise<void>,
): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'tsnerd-hosts-'));
  const layout = new StoreLayout(root, '/run/test.sock');
  try {
    await fn(new FileHostsStore(layout), (m) => join(layout.hostsDir('ns', m.ID), 'hosts'), layout);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('FileHostsStore', () => {
  const a = meta(1, { n1: '10.1.0.2' });
  const b = meta(2, { n1: '10.1.0.3', n2: '10.2.0.3' });
  const c = meta(3, { n2: '10.2.0.4' });
  const d = meta(4, { n1: '10.1.0.5' });

  it('gives every file the names of a full render after containers join one by one', async () => {
    await withStore(async (store, path) => {
      for (const m of [a, b, c, d]) {
        await store.allocate('ns', m.ID, '');
        await store.acquire('ns', m);
      }
      for (const m of [a, b, c, d]) {
        const text = await readFile(path(m), 'utf8');
        // Peers that joined later are appended, so the order may differ from a render; the lines may not.
        assert.deepEqual(sortedLines(text), sortedLines(renderHostsFile('', m, [a, b, c, d])), `hosts of ${m.Name}`);
        assert.match(text, new RegExp(`^# <nerdctl>\\n.*\\n.*\\n\\S+ +h${m.Name.slice(1)} `), 'own entry first');
      }
      assert.doesNotMatch(await readFile(path(a), 'utf8'), /10\.2\.0\.4/, 'c shares no network with a');
    });
  });

  it('renders a peer file whole when it no longer ends with the block, keeping the user lines', async () => {
    await withStore(async (store, path) => {
      await store.allocate('ns', a.ID, '');
      await store.acquire('ns', a);
      await writeFile(path(a), `${await readFile(path(a), 'utf8')}192.0.2.9 added-by-user\n`);
      await store.allocate('ns', d.ID, '');
      await store.acquire('ns', d);
      const text = await readFile(path(a), 'utf8');
      assert.match(text, /^192\.0\.2\.9 added-by-user$/m);
      assert.match(text, /^10\.1\.0\.5 +h4 h4\.n1 c4 c4\.n1$/m);
    });
  });

  it('replaces the old lines of a container that acquires again with new addresses, and drops them on release', async () => {
    await withStore(async (store, path) => {
      for (const m of [a, d]) {
        await store.allocate('ns', m.ID, '');
        await store.acquire('ns', m);
      }
      await store.acquire('ns', { ...d, Networks: { n1: { ips: [{ address: '10.1.0.9/24' }] } } });
      const text = await readFile(path(a), 'utf8');
      assert.match(text, /^10\.1\.0\.9 +h4 /m);
      assert.doesNotMatch(text, /10\.1\.0\.5/);
      await store.release('ns', d.ID);
      assert.doesNotMatch(await readFile(path(a), 'utf8'), /h4/);
    });
  });

  it("takes nerdctl's lock of the hosts store (flock of etchosts/<ns> itself) for every change", async () => {
    await withStore(async (store, path, layout) => {
      const dir = layout.etchostsDir('ns');
      await mkdir(dir, { recursive: true });
      await store.allocate('ns', a.ID, '');
      // What nerdctl's hosts store does for an Acquire/Release: flock(LOCK_EX) on the directory, here for 600 ms.
      const nerdctl = spawn('flock', ['--exclusive', dir, 'sleep', '0.6'], { stdio: 'ignore' });
      const exited = new Promise((resolve) => nerdctl.on('exit', resolve));
      while (spawnSync('flock', ['--nonblock', dir, 'true']).status === 0) await setTimeout(10);
      const started = Date.now();
      await store.acquire('ns', a);
      assert.ok(Date.now() - started >= 300, `acquire went on while nerdctl held the lock (${Date.now() - started} ms)`);
      await exited;
      assert.match(await readFile(path(a), 'utf8'), /h1/);
    });
  });

  describe('members index', () => {
    const join2 = async (store: FileHostsStore, ...ms: HostsMeta[]) => {
      for (const m of ms) {
        await store.allocate('ns', m.ID, '');
        await store.acquire('ns', m);
      }
    };

    it('lets a join list its peers without reading their meta.json while it is unchanged', async () => {
      await withStore(async (store, path, layout) => {
        await join2(store, a, b);
        // What the join uses for a, if it takes it from the index rather than from a's (unchanged) meta.json.
        const indexPath = join(layout.etchostsDir('ns'), MEMBERS_INDEX);
        const index = JSON.parse(await readFile(indexPath, 'utf8')) as { members: Record<string, { Hostname: string }> };
        index.members[a.ID]!.Hostname = 'from-index';
        await writeFile(indexPath, JSON.stringify(index));
        await join2(store, d);
        assert.match(await readFile(path(d), 'utf8'), /^10\.1\.0\.2 +from-index /m);
        const after = JSON.parse(await readFile(indexPath, 'utf8')) as { members: object };
        assert.deepEqual(Object.keys(after.members).sort(), [a.ID, b.ID, d.ID].sort());
      });
    });

    /** What nerdctl's hosts store writes (its Meta: CNI results whole, no Domainname), as its atomic writer does: temp file + rename. */
    const writeNerdctlMeta = async (layout: StoreLayout, m: HostsMeta, ip: string) => {
      await setTimeout(30); // a later change than the one before, whatever the file system's timestamp granularity
      const dir = layout.hostsDir('ns', m.ID);
      await mkdir(dir, { recursive: true });
      const result = {
        cniVersion: '1.0.0',
        interfaces: [{ name: 'eth0', mac: '02:42:0a:01:00:09', sandbox: '/proc/4242/ns/net' }],
        ips: [{ interface: 0, address: `${ip}/24`, gateway: '10.1.0.1' }],
        routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }],
        dns: {},
      };
      const meta = { ID: m.ID, Networks: { n1: result }, Hostname: m.Hostname, ExtraHosts: {}, Name: m.Name };
      await writeFile(join(dir, '.meta.json.tmp'), JSON.stringify(meta));
      await rename(join(dir, '.meta.json.tmp'), join(dir, 'meta.json'));
    };

    it('sees what nerdctl did in the same data root between two joins: a restart with a new address, a dir re-created, a stop, a removal', async () => {
      await withStore(async (store, path, layout) => {
        const [p1, p2, p3, p4] = [11, 12, 13, 14].map((n) => meta(n, { n1: `10.1.0.${n}` }));
        await join2(store, p1!, p2!, p3!, p4!);
        // nerdctl start of p1 after a stop: a new meta.json, new address
        await writeNerdctlMeta(layout, p1!, '10.1.0.91');
        // nerdctl rm of p2, then a container with its dir made again (same ID: the dir re-created)
        await rm(layout.hostsDir('ns', p2!.ID), { recursive: true });
        await writeNerdctlMeta(layout, p2!, '10.1.0.92');
        // nerdctl stop of p3: its postStop's Release removes meta.json only
        await rm(join(layout.hostsDir('ns', p3!.ID), 'meta.json'));
        // nerdctl rm of p4: its Delete removes the dir
        await rm(layout.hostsDir('ns', p4!.ID), { recursive: true });
        const e = meta(15, { n1: '10.1.0.15' });
        await join2(store, e);
        const text = await readFile(path(e), 'utf8');
        assert.match(text, /^10\.1\.0\.91 +h11 /m, 'p1 at its new address');
        assert.doesNotMatch(text, /10\.1\.0\.11\b/, "p1's old address");
        assert.match(text, /^10\.1\.0\.92 +h12 /m, "p2 from its re-created dir's meta.json");
        assert.doesNotMatch(text, /10\.1\.0\.12\b/, "p2's old address");
        assert.doesNotMatch(text, /h13|h14/, 'p3 stopped, p4 removed');
        // nor does a stopped peer get the newcomer's line
        assert.doesNotMatch(await readFile(path(p3!), 'utf8'), /h15/);
        // and a meta.json changed in place (same inode) is read again too
        await setTimeout(30);
        await writeFile(
          join(layout.hostsDir('ns', p1!.ID), 'meta.json'),
          JSON.stringify({ ...p1!, Networks: { n1: { ips: [{ address: '10.1.0.191/24' }] } } }),
        );
        const f = meta(16, { n1: '10.1.0.16' });
        await join2(store, f);
        assert.match(await readFile(path(f), 'utf8'), /^10\.1\.0\.191 +h11 /m);
      });
    });

    it('reads the metas of containers it does not list (index lost, or started by another tool) and drops removed ones', async () => {
      await withStore(async (store, path, layout) => {
        await join2(store, a, b);
        await rm(join(layout.etchostsDir('ns'), MEMBERS_INDEX));
        // c's entry written by another tool, b's dir removed behind the store's back.
        await mkdir(layout.hostsDir('ns', c.ID), { recursive: true });
        await writeFile(join(layout.hostsDir('ns', c.ID), 'meta.json'), JSON.stringify(c));
        await join2(store, meta(5, { n1: '10.1.0.6', n2: '10.2.0.6' }));
        await rm(layout.hostsDir('ns', b.ID), { recursive: true });
        const e = meta(6, { n1: '10.1.0.7', n2: '10.2.0.7' });
        await join2(store, e);
        const text = await readFile(path(e), 'utf8');
        assert.match(text, /^10\.1\.0\.2 +h1 /m, 'a, from its meta.json');
        assert.match(text, /^10\.2\.0\.4 +h3 /m, "c, from another tool's meta.json");
        assert.doesNotMatch(text, /h2/, 'b is gone');
      });
    });

    it("remembers each hosts file's size, and inserts right when another writer changed a file since (the size no longer ends it)", async () => {
      await withStore(async (store, path, layout) => {
        await join2(store, a, b, d);
        const indexPath = join(layout.etchostsDir('ns'), MEMBERS_INDEX);
        const sizes = async () => (JSON.parse(await readFile(indexPath, 'utf8')) as { members: Record<string, { size?: number }> }).members;
        for (const m of [a, b, d]) assert.equal((await sizes())[m.ID]!.size, (await stat(path(m))).size, `size of ${m.Name}'s file`);
        // Shorter, still ending with the block (d's line taken out, as a re-render without it would),
        // and longer, with a comment before the block: the remembered end is past or before the real one.
        await writeFile(path(a), (await readFile(path(a), 'utf8')).replace(/^10\.1\.0\.5 .*\n/m, ''));
        await writeFile(path(b), `# a comment\n${await readFile(path(b), 'utf8')}`);
        const e = meta(6, { n1: '10.1.0.7', n2: '10.2.0.7' });
        await join2(store, e);
        for (const m of [a, b, d]) {
          const text = await readFile(path(m), 'utf8');
          assert.equal(text.match(/^10\.1\.0\.7 +h6 /gm)?.length, 1, `e's line once in ${m.Name}'s file`);
          assert.ok(text.endsWith('# </nerdctl>\n'), `${m.Name}'s file ends with the block`);
          assert.equal((await sizes())[m.ID]!.size, Buffer.byteLength(text));
        }
        assert.match(await readFile(path(b), 'utf8'), /^# a comment\n/);
        assert.match(await readFile(path(b), 'utf8'), /^10\.2\.0\.7 +h6 /m, 'b shares n2 with e');
      });
    });

    it('on a leave, renders only the files of the peers it shared a network with', async () => {
      await withStore(async (store, path) => {
        await join2(store, a, b, c);
        // A stale line in c's block: a render of c's file would drop it; a's leave must not render it (no shared network).
        const stale = (await readFile(path(c), 'utf8')).replace('# </nerdctl>\n', '192.0.2.77      stale-peer\n# </nerdctl>\n');
        await writeFile(path(c), stale);
        await store.release('ns', a.ID);
        assert.doesNotMatch(await readFile(path(b), 'utf8'), /h1/, "b shared n1 with a: a's line is gone");
        assert.equal(await readFile(path(c), 'utf8'), stale, 'c shares no network with a: its file is left as it was');
        await store.delete('ns', b.ID);
        assert.doesNotMatch(await readFile(path(c), 'utf8'), /h2/, "c shared n2 with b: b's line is gone");
      });
    });

    it("takes a container's lines out of its peers' files on delete when a release was killed after removing its meta.json", async () => {
      await withStore(async (store, path, layout) => {
        await join2(store, a, d);
        await rm(join(layout.hostsDir('ns', a.ID), 'meta.json'));
        await store.delete('ns', a.ID);
        assert.doesNotMatch(await readFile(path(d), 'utf8'), /h1/, "the index still listed a: its line is gone from d's file");
      });
    });

    it("cuts a leaving container's lines out of the file of a container stopped by nerdctl (meta.json removed)", async () => {
      await withStore(async (store, path, layout) => {
        await join2(store, a, d);
        await rm(join(layout.hostsDir('ns', d.ID), 'meta.json'));
        await store.release('ns', a.ID);
        assert.doesNotMatch(await readFile(path(d), 'utf8'), /10\.1\.0\.2/);
      });
    });

    it('forgets a container that leaves', async () => {
      await withStore(async (store, path) => {
        await join2(store, a, d);
        await store.release('ns', a.ID);
        const e = meta(6, { n1: '10.1.0.7' });
        await join2(store, e);
        assert.doesNotMatch(await readFile(path(e), 'utf8'), /h1/);
      });
    });
  });
});
