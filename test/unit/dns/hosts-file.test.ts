import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostsRenderer, type HostsMeta } from '../../../src/domain/dns/hosts-file.ts';

const renderHostsFile = (current: string, me: HostsMeta, all: readonly HostsMeta[]): string => hostsRenderer(all)(current, me);

const meta = (id: string, name: string, nets: Record<string, string>, extra: Partial<HostsMeta> = {}): HostsMeta => ({
  ID: id,
  Name: name,
  Hostname: id.slice(0, 4),
  Domainname: '',
  ExtraHosts: {},
  Networks: Object.fromEntries(Object.entries(nets).map(([n, ip]) => [n, { ips: [{ address: `${ip}/24` }] }])),
  ...extra,
});

describe('renderHostsFile', () => {
  const foo = meta('foo1', 'foo', { n1: '10.1.0.2' });
  const bar = meta('bar1', 'bar', { n1: '10.1.0.3' });

  it('lists every container sharing a network, with .<net> suffixes', () => {
    const out = renderHostsFile('', foo, [foo, bar]);
    assert.equal(
      out,
      [
        '# <nerdctl>',
        '127.0.0.1\tlocalhost localhost.localdomain',
        '::1\t\tlocalhost localhost.localdomain',
        '10.1.0.2        foo1 foo1.n1 foo foo.n1',
        '10.1.0.3        bar1 bar1.n1 bar bar.n1',
        '# </nerdctl>',
        '',
      ].join('\n'),
    );
  });

  it('puts hostname.domainname first and omits the suffix on bridge', () => {
    const a = meta('aaaa', 'a', { bridge: '10.4.0.2' });
    const b = meta('bbbb', 'b', { bridge: '10.4.0.3' }, { Domainname: 'example.com' });
    assert.match(renderHostsFile('', a, [a, b]), /^10\.4\.0\.3 {7} bbbb\.example\.com bbbb b$/m);
  });

  it('does not list containers on other networks', () => {
    const other = meta('cccc', 'c', { n2: '10.2.0.2' });
    assert.doesNotMatch(renderHostsFile('', foo, [foo, other]), /10\.2\.0\.2/);
  });

  it('keeps user lines outside the block and replaces the old block', () => {
    const before = '192.168.9.9 mine\n# <nerdctl>\n10.9.9.9 stale\n# </nerdctl>\n';
    const out = renderHostsFile(before, foo, [foo]);
    assert.match(out, /^192\.168\.9\.9 mine\n# <nerdctl>/);
    assert.doesNotMatch(out, /stale/);
  });

  it('adds --add-host entries', () => {
    const out = renderHostsFile('', { ...foo, ExtraHosts: { 'db.local': '10.9.9.9' } }, [foo]);
    assert.match(out, /^10\.9\.9\.9 {7} db\.local$/m);
  });
});
