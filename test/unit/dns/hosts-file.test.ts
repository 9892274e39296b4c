import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostsRenderer, joinLines, withoutLines, type HostsMeta } from '../../../src/domain/dns/hosts-file.ts';

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

describe('withoutLines', () => {
  const foo = meta('foo1', 'foo', { n1: '10.1.0.2' });
  const bar = meta('bar1', 'bar', { n1: '10.1.0.3' });
  const baz = meta('baz1', 'baz', { n1: '10.1.0.4' });

  it('takes a leaving peer out as a render without it would', () => {
    const file = renderHostsFile('192.0.2.1 user-line\n', foo, [foo, bar, baz]);
    const cut = withoutLines(file, joinLines(foo, bar));
    assert.equal(cut, renderHostsFile(file, foo, [foo, baz]));
  });

  it('keeps the line of a peer that has taken the address of the one leaving', () => {
    const reused = meta('qux1', 'qux', { n1: '10.1.0.3' });
    const file = renderHostsFile('', foo, [foo, bar, reused]);
    assert.match(withoutLines(file, joinLines(foo, bar)) ?? '', /^10\.1\.0\.3 +qux1 /m);
  });

  it('is undefined when a line is not in the managed block (a file written otherwise is rendered whole)', () => {
    const file = renderHostsFile('', foo, [foo, baz]);
    assert.equal(withoutLines(file, joinLines(foo, bar)), undefined);
    assert.equal(withoutLines(`${joinLines(foo, bar)[0]}\n${file}`, joinLines(foo, bar)), undefined, 'outside the block it is a user line');
  });
});
