/**
 * The overlay agent's supervisor (docs/overlay.md, "Supervision"): an agent killed with -9
 * (or by the OOM killer) is started again by its supervisor, with no command on its host, so
 * its host's names stay on the other hosts and it goes on following them; a supervisor
 * killed with -9 is replaced by its agent; both killed leave nothing and are recovered by
 * `network gc` (or the next container start); `network rm` leaves no process. Two hosts (a
 * third joins in the first test) as network namespaces (fabric.ts, with this file's own
 * names: namespaces ag-ovl-*, bridge ag-br, underlay 10.246.255.0/24, etcd on 44400-44401),
 * overlay 10.243.0.0/16 with VNI 1243 on UDP 46600, names starting with ag.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Fabric, eventually, inNs, ipOf, lookup, ok, type Host } from './fabric.ts';

const PREFIX = '/tsnerd-e2e/ag';
const NET = 'ag-ovl';
const DEVICE = 'flannel.1243';
const fabric = new Fabric('ag-sup', { nsPrefix: 'ag-ovl-', bridge: 'ag-br', linkPrefix: 'ag-', underlay: '10.246.255', etcdPort: 44400 });
const CREATE_FIRST = [
  '--driver',
  'overlay',
  '--etcd-endpoints',
  fabric.etcdUrl,
  '--subnet',
  '10.243.0.0/16',
  '--subnet-len',
  '24',
  '--vni',
  '1243',
  '--port',
  '46600',
  '-o',
  `etcd-prefix=${PREFIX}`,
];
const JOIN = ['--driver', 'overlay', '--etcd-endpoints', fabric.etcdUrl, '-o', `etcd-prefix=${PREFIX}`];
const SLEEP = ['busybox', 'sleep', '100000'];

/** The network's state dir on host h: agent.pid, supervisor.pid (read directly: no command on the host). */
function stateDir(h: Host): string {
  return join(h.env.dataRoot, 'overlay', h.env.namespace, NET);
}

function pidIn(h: Host, file: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(stateDir(h), file), 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True while pid is a live process (not a zombie) whose command line names h's state dir. */
function runsFor(h: Host, pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    if (/\)\s+[ZX]\s/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(stateDir(h));
  } catch {
    return false;
  }
}

/** Every live process whose command line names h's state dir (its agent and supervisor). */
async function processesOf(h: Host): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.includes(stateDir(h)) && runsFor(h, Number(entry))) out.push(`${entry}: ${argv.join(' ')}`);
  }
  return out;
}

/** The agent that runs now on h (by its pid file), once there is one. */
async function liveAgent(h: Host, not?: number): Promise<number> {
  const { value } = await eventually(
    `[${h.letter}] a live agent${not === undefined ? '' : ` other than ${not}`}`,
    async () => {
      const pid = pidIn(h, 'agent.pid');
      assert.ok(runsFor(h, pid) && pid !== not, `agent.pid: ${pid}`);
      return pid!;
    },
    15_000,
  );
  return value;
}

/** The other hosts' records the agent of h keeps for its resolver (the dns dir's remote-* file). */
function remoteNames(h: Host): string {
  for (const entry of readdirSync(h.env.dataRoot)) {
    const dns = join(h.env.dataRoot, entry, 'dns');
    if (!existsSync(dns)) continue;
    const file = readdirSync(dns).find((f) => f.startsWith('remote-'));
    if (file) return readFileSync(join(dns, file), 'utf8');
  }
  return '';
}

async function gateway(h: Host): Promise<string> {
  const [v] = JSON.parse(await ok(h, ['network', 'inspect', NET])) as { IPAM: { Config: { Gateway: string }[] } }[];
  return v!.IPAM.Config[0]!.Gateway;
}

let gwA = '';
let ipB = '';

describe("the overlay agent's supervisor (e2e)", { timeout: 600_000 }, () => {
  before(async () => {
    await fabric.start();
    await Promise.all([fabric.addHost('a', 1), fabric.addHost('b', 2)]);
    const [a, b] = [fabric.host('a'), fabric.host('b')];
    await ok(a, ['network', 'create', NET, ...CREATE_FIRST]);
    await ok(b, ['network', 'create', NET, ...JOIN]);
    await ok(a, ['run', '-d', '--name', 'ag-cli', '--net', NET, ...SLEEP]);
    await ok(b, ['run', '-d', '--name', 'ag-web', '--net', NET, ...SLEEP]);
    gwA = await gateway(a);
    ipB = await ipOf(b, 'ag-web');
    await eventually('A resolves ag-web', async () => assert.deepEqual(await lookup(a, 'ag-cli', 'ag-web', gwA), [ipB]));
  });
  after(() => fabric.stop());

  it("kill -9 of B's agent: with no command on B, A still resolves B's container 15 s later, and B follows A's names and a new host's lease again", async () => {
    const [a, b] = [fabric.host('a'), fabric.host('b')];
    const killed = await liveAgent(b);
    process.kill(killed, 'SIGKILL');
    const started = Date.now();
    // A container on A and a new host C after the kill: B's agent must see both (the dead one's watches are gone).
    await ok(a, ['run', '-d', '--name', 'ag-late', '--net', NET, ...SLEEP]);
    const late = await ipOf(a, 'ag-late');
    const c = await fabric.addHost('c', 3);
    await ok(c, ['network', 'create', NET, ...JOIN]);
    const [cv] = JSON.parse(await ok(c, ['network', 'inspect', NET])) as { Overlay: { Lease: { Subnet: string } } }[];
    await sleep(Math.max(0, 15_000 - (Date.now() - started)));
    assert.deepEqual(await lookup(a, 'ag-cli', 'ag-web', gwA), [ipB], "B's name on A 15 s after its agent was killed");
    const agent = await liveAgent(b, killed);
    const log = readFileSync(join(stateDir(b), 'agent.log'), 'utf8');
    console.log(
      `# ${log
        .split('\n')
        .filter((l) => l.includes('supervisor:'))
        .join('\n# ')}`,
    );
    await eventually(
      "B's agent has ag-late in its file of remote names",
      async () => assert.match(remoteNames(b), new RegExp(late.replaceAll('.', '\\.'))),
      10_000,
    );
    await eventually(
      `B has a path to C's subnet ${cv!.Overlay.Lease.Subnet}`,
      async () =>
        assert.match(
          (await inNs(b.netns, 'ip', ['route', 'show', 'dev', DEVICE])).stdout,
          new RegExp(`^${cv!.Overlay.Lease.Subnet} `, 'm'),
        ),
      10_000,
    );
    await ok(c, ['network', 'rm', NET]);
    assert.equal(pidIn(b, 'agent.pid'), agent, 'one restart');
    await ok(a, ['rm', '-f', 'ag-late']);
  });

  it('kill -9 of the supervisor: its agent runs on and, with no command on B, starts a new one that watches it; a later kill -9 of the agent is recovered', async () => {
    const b = fabric.host('b');
    const agent = await liveAgent(b);
    const supervisor = pidIn(b, 'supervisor.pid');
    assert.ok(runsFor(b, supervisor), `a supervisor runs (${supervisor})`);
    await ok(b, ['run', '-d', '--name', 'ag-web2', '--net', NET, ...SLEEP]);
    process.kill(supervisor!, 'SIGKILL');
    const { value: adopting, ms } = await eventually(
      'a new supervisor',
      async () => {
        const pid = pidIn(b, 'supervisor.pid');
        assert.ok(pid !== supervisor && runsFor(b, pid), `supervisor.pid: ${pid}`);
        return pid!;
      },
      15_000,
    );
    console.log(`# supervisor ${adopting} runs ${ms} ms after the kill of ${supervisor}`);
    assert.equal(pidIn(b, 'agent.pid'), agent, 'the same agent');
    assert.ok(runsFor(b, agent), 'which runs on');
    // and it does supervise: the agent killed now is started again by itself
    process.kill(agent, 'SIGKILL');
    await liveAgent(b, agent);
    await sleep(12_000); // past the killed agent's names lease
    assert.deepEqual(await lookup(fabric.host('a'), 'ag-cli', 'ag-web2', gwA), [await ipOf(b, 'ag-web2')]);
    await ok(b, ['rm', '-f', 'ag-web2']);
  });

  it('supervisor and agent both killed: nothing runs on, nothing is started; network gc starts both and the names come back', async () => {
    const b = fabric.host('b');
    const agent = await liveAgent(b);
    const supervisor = pidIn(b, 'supervisor.pid')!;
    process.kill(supervisor, 'SIGKILL');
    process.kill(agent, 'SIGKILL');
    await sleep(3_000);
    assert.deepEqual(await processesOf(b), [], 'no process of the network');
    await ok(b, ['network', 'gc']);
    const next = await liveAgent(b);
    assert.ok(runsFor(b, pidIn(b, 'supervisor.pid')), 'a supervisor again');
    const [v] = JSON.parse(await ok(b, ['network', 'inspect', NET])) as { Overlay: { AgentPid?: number; SupervisorPid?: number } }[];
    assert.equal(v!.Overlay.AgentPid, next, 'network inspect shows the agent');
    assert.equal(v!.Overlay.SupervisorPid, pidIn(b, 'supervisor.pid'), 'and its supervisor');
    await eventually('A resolves ag-web', async () => assert.deepEqual(await lookup(fabric.host('a'), 'ag-cli', 'ag-web', gwA), [ipB]));
  });

  it('network rm right after a kill -9 of the agent (its supervisor about to start it again) leaves no process, then or later', async () => {
    const b = fabric.host('b');
    await ok(b, ['rm', '-f', 'ag-web']);
    process.kill(await liveAgent(b), 'SIGKILL');
    await ok(b, ['network', 'rm', NET]);
    assert.deepEqual(await processesOf(b), [], 'nothing of the network runs');
    await sleep(3_000);
    assert.deepEqual(await processesOf(b), [], 'nor is started again');
    const a = fabric.host('a');
    await ok(a, ['rm', '-f', 'ag-cli']);
    await ok(a, ['network', 'rm', '-f', NET]);
    assert.deepEqual(await processesOf(a), []);
  });
});
