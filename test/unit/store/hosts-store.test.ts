import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileHostsStore } from '../../../src/adapters/store/hosts-store.ts';
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

async function withStore(fn: (store: FileHostsStore, hostsPath: (m: HostsMeta) => string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'tsnerd-hosts-'));
  const layout = new StoreLayout(root, '/run/test.sock');
  try {
    await fn(new FileHostsStore(layout), (m) => join(layout.hostsDir('ns', m.ID), 'hosts'));
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
});
