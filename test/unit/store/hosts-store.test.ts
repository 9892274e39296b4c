import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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

  describe('members index', () => {
    const join2 = async (store: FileHostsStore, ...ms: HostsMeta[]) => {
      for (const m of ms) {
        await store.allocate('ns', m.ID, '');
        await store.acquire('ns', m);
      }
    };

    it('lets a join list its peers without reading their meta.json', async () => {
      await withStore(async (store, path, layout) => {
        await join2(store, a, b);
        // A peer's meta.json the join would choke on: the index has what the lines need.
        await writeFile(join(layout.hostsDir('ns', a.ID), 'meta.json'), 'garbage');
        await join2(store, d);
        assert.match(await readFile(path(d), 'utf8'), /^10\.1\.0\.2 +h1 /m);
        const index = JSON.parse(await readFile(join(layout.etchostsDir('ns'), MEMBERS_INDEX), 'utf8')) as { members: object };
        assert.deepEqual(Object.keys(index.members).sort(), [a.ID, b.ID, d.ID].sort());
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
