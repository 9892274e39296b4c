import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DNS_RECORDS_FILE, StoreDnsRegistry } from '../../../src/adapters/dns/store-dns-registry.ts';

const endpoint = (id: string, ip: string) => ({ network: 'n1', namespace: 'ns', id, names: [`c-${id}`], aliases: [], ips: [ip] });

describe('StoreDnsRegistry records file', () => {
  it('leaves: drops the container, keeps the others, written as lowdb writes JSON (2-space indents); no change, no write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnerd-dns-registry-'));
    try {
      const file = join(dir, DNS_RECORDS_FILE);
      const set = {
        networks: { 'ns/n1': { gateways: ['10.1.0.1'], internal: false } },
        endpoints: { 'ns/a/n1': endpoint('a', '10.1.0.2'), 'ns/b/n1': endpoint('b', '10.1.0.3') },
      };
      writeFileSync(file, JSON.stringify(set, null, 2));
      const registry = new StoreDnsRegistry(dir);
      await registry.leave('ns', 'a');
      const text = readFileSync(file, 'utf8');
      const expected = { networks: set.networks, endpoints: { 'ns/b/n1': set.endpoints['ns/b/n1'] } };
      assert.equal(text, JSON.stringify(expected, null, 2));
      assert.deepEqual(await registry.names('ns', 'b'), { n1: ['c-b'] });
      const before = statSync(file);
      await registry.leave('ns', 'a'); // not there: nothing to write
      await registry.leave('ns', 'zz');
      const after = statSync(file);
      assert.equal(after.ino, before.ino);
      assert.equal(after.mtimeMs, before.mtimeMs);
      await registry.leave('ns', 'b');
      assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { networks: {}, endpoints: {} });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
