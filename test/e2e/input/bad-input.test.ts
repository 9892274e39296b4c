/**
 * Bad input at scale (issue 12): every row of the generated table runs through
 * the real binary against a private containerd and must exit 1 or 2 with
 * exactly one line on stderr that names the bad value, without a stack trace
 * or a runtime's raw error text, and leave the host as it was.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { importTestImage, startEnv, tsnerd, type TestEnv } from '../harness.ts';
import { snapshotHostState, waitForHostState, type HostStateScope } from '../host-state.ts';
import { StoreLayout } from '../../../src/domain/store-layout.ts';
import { HELD_IP, badInputs, type BadInput } from './bad-input-table.ts';

const BIN = new URL('../../../bin/tsnerd', import.meta.url).pathname;
const NETWORK = 'inp-bi';
const SCOPE: HostStateScope = { networks: [NETWORK], ports: [39300, 39399] };
/** Processes at a time: the machine has 2 cores and other test files run beside this one. */
const CONCURRENCY = 4;

/** Text that must never reach the user: a stack, Node's or a runtime's raw errors. */
const RAW =
  /^\s+at |failed to create shim task|OCI runtime|runc create failed|\bE[A-Z]{3,}: |SyntaxError|TypeError|ReferenceError|Unexpected token|in JSON at position|Cannot read prop|undefined is not|\[object Object\]/m;

interface Outcome {
  row: BadInput;
  exitCode: number;
  stderr: string;
}

async function runRow(env: TestEnv, row: BadInput): Promise<Outcome> {
  const r = await execa(BIN, row.args, {
    reject: false,
    env: { ...env.env, ...row.env },
    input: row.stdin ?? '',
    timeout: 60_000,
    stripFinalNewline: false,
  });
  return { row, exitCode: r.exitCode ?? -1, stderr: String(r.stderr) };
}

/** What is wrong with one outcome, or undefined. */
function problem({ row, exitCode, stderr }: Outcome): string | undefined {
  const lines = stderr.split('\n');
  if (exitCode !== 1 && exitCode !== 2) return `exit ${exitCode}`;
  if (lines.length !== 2 || lines[1] !== '') return `${lines.length - 1} lines on stderr`;
  if (!lines[0]!.startsWith('tsnerd')) return 'stderr does not start with "tsnerd"';
  if (RAW.test(stderr)) return 'raw error text';
  if (!lines[0]!.includes(row.names)) return `does not name ${JSON.stringify(row.names)}`;
  return undefined;
}

describe('bad input at scale', { timeout: 1_200_000 }, () => {
  let env: TestEnv;
  let work: string;
  let rows: BadInput[];
  let netnsHolder: ReturnType<typeof execa> | undefined;

  before(async () => {
    env = await startEnv('inp-bad-input');
    await importTestImage(env);
    const created = await tsnerd(env, ['network', 'create', NETWORK, '--subnet', '10.213.10.0/24', '--ip-range', '10.213.10.128/25']);
    assert.equal(created.exitCode, 0, created.stderr);
    const holder = await tsnerd(env, [
      'run',
      '-d',
      '--name',
      'inp-bi-holder',
      '--net',
      NETWORK,
      '--ip',
      HELD_IP,
      'busybox',
      'sleep',
      '3600',
    ]);
    assert.equal(holder.exitCode, 0, holder.stderr);
    work = join(env.dir, 'bad-input');
    await mkdir(work);
    const tomls: Array<[string, string]> = [];
    const conflists: Array<[string, string]> = [];
    const stores: Array<[string, string]> = [];
    const layout = new StoreLayout(env.dataRoot, env.address);
    // Should a store row get past its check, the hook would attach this netns, not the host's.
    netnsHolder = execa('unshare', ['-n', 'sleep', '600'], { reject: false });
    rows = badInputs({
      network: NETWORK,
      namespace: env.namespace,
      dir: work,
      toml: (content) => {
        const path = join(work, `t${tomls.length}.toml`);
        tomls.push([path, content]);
        return path;
      },
      hookArgs: [
        '--address',
        env.address,
        '--namespace',
        env.namespace,
        '--data-root',
        env.dataRoot,
        '--cni-path',
        env.cniPath,
        '--cni-netconfpath',
        env.netconfPath,
      ],
      stateDir: (id) => layout.containerDir(env.namespace, id),
      conflist: (name, content) => void conflists.push([name, content]),
      storeFile: (id, content) => void stores.push([id, content]),
      pid: netnsHolder.pid!,
    });
    for (const [path, content] of tomls) await writeFile(path, content);
    await mkdir(join(env.netconfPath, env.namespace), { recursive: true });
    for (const [name, content] of conflists) await writeFile(join(env.netconfPath, env.namespace, `nerdctl-${name}.conflist`), content);
    for (const [id, content] of stores) {
      const dir = layout.containerDir(env.namespace, id);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'network-config.json'), content);
    }
    // The hook records a failure in the container's state dir (its log, the error, lifecycle.json):
    // the first run of those rows makes the files, the baseline then holds them.
    for (const row of rows.filter((r) => r.what.includes('network-config.json'))) await runRow(env, row);
  });
  after(async () => {
    netnsHolder?.kill('SIGKILL');
    // The network and its bridge are the test's own: remove them before the harness checks for leftovers.
    if (env) {
      await tsnerd(env, ['rm', '-f', 'inp-bi-holder']);
      await tsnerd(env, ['network', 'rm', NETWORK]);
    }
    await env?.stop();
  });

  it('has at least 500 rows', () => {
    assert.ok(rows.length >= 500, `${rows.length} rows`);
  });

  it('each row: exit 1 or 2, one line naming the value, nothing raw, the host unchanged', { timeout: 1_100_000 }, async () => {
    const before = await snapshotHostState(env, SCOPE);
    const started = Date.now();
    const outcomes: Outcome[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < rows.length) outcomes.push(await runRow(env, rows[next++]!));
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const failures = outcomes.flatMap((o) => {
      const p = problem(o);
      return p === undefined ? [] : [`${o.row.what}: ${p}\n    exit ${o.exitCode}, stderr: ${JSON.stringify(o.stderr)}`];
    });
    const containers = await execa('ctr', ['-a', env.address, '-n', env.namespace, 'containers', 'ls', '-q'], { reject: false });
    const diff = await waitForHostState(env, SCOPE, before);
    process.stdout.write(
      `# bad input: ${outcomes.length} rows in ${seconds.toFixed(1)} s, ${failures.length} failing, ${diff.length} host differences\n`,
    );
    assert.deepEqual(failures, [], `${failures.length} of ${outcomes.length} rows failed:\n${failures.join('\n')}`);
    assert.deepEqual(String(containers.stdout).trim().split('\n').length, 1, 'no container is left but the holder');
    assert.deepEqual(diff, [], `host state changed:\n${diff.join('\n')}`);
  });
});
