import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  cachedForwards,
  familiesOf,
  forwardsIn,
  listingCommand,
  missingForwards,
  reloadRuns,
  startFinished,
  type Family,
} from '../../../src/reserver/forward-watch.ts';

const ID_A = 'hw-ns-aaaa';
const ID_B = 'hw-ns-bbbb';

/** A line as `iptables -S CNI-HOSTPORT-DNAT` prints portmap's jump. */
function jump(network: string, id: string, port: number): string {
  return `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"${network}\\" id: \\"${id}\\"" -m multiport --dports ${port} -j CNI-DN-0123456789abcdef01234`;
}

const LISTING = ['-N CNI-HOSTPORT-DNAT', jump('hw-net', ID_A, 49100), jump('hw-net2', ID_A, 49101), jump('hw-net', ID_B, 49102), ''].join(
  '\n',
);

function listings(entries: [Family, string][]): Map<Family, Map<string, Set<string>>> {
  return new Map(entries.map(([f, text]) => [f, forwardsIn(text)]));
}

describe('forward watch', () => {
  it('reads the network and CNI container ID of each of portmap’s jumps', () => {
    const f = forwardsIn(LISTING);
    assert.deepEqual([...f.keys()].sort(), [ID_A, ID_B]);
    assert.deepEqual([...f.get(ID_A)!].sort(), ['hw-net', 'hw-net2']);
    assert.deepEqual([...f.get(ID_B)!], ['hw-net']);
    // other chains' rules and lines without portmap's comment are not forwards
    assert.equal(
      forwardsIn(`-A OUTPUT -m comment --comment "dnat name: \\"x\\" id: \\"${ID_A}\\"" -j X\n-A CNI-HOSTPORT-DNAT -j RETURN`).size,
      0,
    );
  });

  it('lists one family with a bounded wait on the xtables lock', () => {
    assert.deepEqual(listingCommand(4), ['iptables', ['-w', '5', '-t', 'nat', '-S', 'CNI-HOSTPORT-DNAT']]);
    assert.equal(listingCommand(6)[0], 'ip6tables');
  });

  it('takes the families from the host bindings', () => {
    const b = (hostIP: string) => ({ protocol: 'tcp' as const, hostIP, hostPort: 49100 });
    assert.deepEqual(familiesOf([b('127.0.0.1')]), [4]);
    assert.deepEqual(familiesOf([b('0.0.0.0'), b('::')]), [4, 6]);
    assert.deepEqual(familiesOf([b('::1')]), [6]);
    assert.deepEqual(familiesOf([]), []);
  });

  it('counts a forward missing only once it was seen, and reports each seen one gone', () => {
    const seen = new Set<string>();
    // registered before its ADD made anything: nothing is missing yet
    assert.deepEqual(missingForwards(seen, ID_A, listings([[4, '-N CNI-HOSTPORT-DNAT\n']])), []);
    assert.deepEqual(missingForwards(seen, ID_A, listings([[4, LISTING]])), []);
    assert.deepEqual([...seen].sort(), ['4/hw-net', '4/hw-net2']);
    // only the jump of hw-net2 went
    const partial = ['-N CNI-HOSTPORT-DNAT', jump('hw-net', ID_A, 49100), jump('hw-net', ID_B, 49102)].join('\n');
    assert.deepEqual(missingForwards(seen, ID_A, listings([[4, partial]])), ['4/hw-net2']);
    // the chain itself gone (a flush that deleted it): every seen forward
    assert.deepEqual(missingForwards(seen, ID_A, new Map([[4, new Map()]])), ['4/hw-net', '4/hw-net2']);
    // another container's forwards are not this one's
    assert.deepEqual(missingForwards(new Set(), 'hw-ns-cccc', listings([[4, LISTING]])), []);
  });

  it('decides nothing for a family it could not list', () => {
    const seen = new Set(['4/hw-net', '6/hw-net']);
    assert.deepEqual(missingForwards(seen, ID_A, listings([[6, '-N CNI-HOSTPORT-DNAT\n']])), ['6/hw-net']);
    assert.deepEqual(missingForwards(seen, ID_A, new Map()), []);
  });

  it('runs one reload per command and environment, each container once', () => {
    const cli = ['node', 'cli.js', 'network', 'reload', '--namespace', 'a'];
    const other = ['node', 'cli.js', 'network', 'reload', '--namespace', 'b'];
    const env = { PATH: '/usr/sbin:/usr/bin' };
    assert.deepEqual(
      reloadRuns([
        { reloadArgv: cli, env, id: 'c1' },
        { reloadArgv: other, env, id: 'c2' },
        { reloadArgv: cli, env, id: 'c3' },
        { reloadArgv: cli, env, id: 'c1' },
      ]),
      [
        { argv: [...cli, 'c1', 'c3'], env },
        { argv: [...other, 'c2'], env },
      ],
    );
    assert.deepEqual(reloadRuns([]), []);
  });

  it('takes a start as finished once its lifecycle record names this very init and no failure', () => {
    const record = (r: Record<string, unknown>) => JSON.stringify(r);
    assert.equal(startFinished(record({ started_at: 'x', pid: 42, pid_start: '777', create_error: false }), 42, '777'), true);
    assert.equal(startFinished(record({ pid: 42, pid_start: '777' }), 42, undefined), true);
    // another init (a pid reused, an earlier start), a failed start, no record, no pid
    assert.equal(startFinished(record({ pid: 42, pid_start: '776', create_error: false }), 42, '777'), false);
    assert.equal(startFinished(record({ pid: 41, pid_start: '777' }), 42, '777'), false);
    assert.equal(startFinished(record({ pid: 42, pid_start: '777', create_error: true }), 42, '777'), false);
    assert.equal(startFinished(record({ create_error: true }), 42, '777'), false);
    assert.equal(startFinished('', 42, '777'), false);
    assert.equal(startFinished('{"pid": 4', 42, '777'), false);
    assert.equal(startFinished(record({ pid: 42 }), undefined, undefined), false);
  });

  it('reads from a result cache entry the forwards portmap made: one per family of the bindings', () => {
    const list = (plugins: unknown[]) => Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'hw-net', plugins })).toString('base64');
    const withPortmap = list([{ type: 'bridge' }, { type: 'portmap', capabilities: { portMappings: true } }, { type: 'firewall' }]);
    const entry = (over: Record<string, unknown>) =>
      JSON.stringify({
        kind: 'cniCacheV1',
        containerId: ID_A,
        config: withPortmap,
        ifName: 'eth0',
        networkName: 'hw-net',
        capabilityArgs: { portMappings: [{ hostPort: 49100, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }] },
        result: {},
        ...over,
      });
    assert.deepEqual(cachedForwards(entry({}), ID_A, [4]), ['4/hw-net']);
    assert.deepEqual(cachedForwards(entry({}), ID_A, [4, 6]), ['4/hw-net', '6/hw-net']);
    // no mappings, no portmap, a portmap not taking them, another container, not an entry
    assert.deepEqual(cachedForwards(entry({ capabilityArgs: { portMappings: [] } }), ID_A, [4]), []);
    assert.deepEqual(cachedForwards(entry({ capabilityArgs: null }), ID_A, [4]), []);
    assert.deepEqual(cachedForwards(entry({ config: list([{ type: 'bridge' }, { type: 'firewall' }]) }), ID_A, [4]), []);
    assert.deepEqual(cachedForwards(entry({ config: list([{ type: 'bridge' }, { type: 'portmap' }]) }), ID_A, [4]), []);
    assert.deepEqual(cachedForwards(entry({}), ID_B, [4]), []);
    assert.deepEqual(cachedForwards('', ID_A, [4]), []);
    assert.deepEqual(cachedForwards(entry({ config: 'bm90IGpzb24=' }), ID_A, [4]), []);
    // a single-plugin conf (no list)
    const single = Buffer.from(JSON.stringify({ name: 'hw-net', type: 'portmap', capabilities: { portMappings: true } })).toString(
      'base64',
    );
    assert.deepEqual(cachedForwards(entry({ config: single }), ID_A, [6]), ['6/hw-net']);
  });
});
