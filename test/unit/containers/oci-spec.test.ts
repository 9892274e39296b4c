import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildOciSpec, execProcess, mergeEnv, processArgs, type SpecInput } from '../../../src/domain/oci/spec.ts';
import { isTsnerdError } from '../../../src/domain/errors.ts';

const ID = 'a'.repeat(64);

function input(over: Partial<SpecInput> = {}): SpecInput {
  return {
    id: ID,
    namespace: 'default',
    image: { Cmd: ['sh'], Env: ['PATH=/bin', 'FOO=image'], WorkingDir: '' },
    args: [],
    env: [],
    user: { uid: 0, gid: 0 },
    hostname: 'aaaaaaaaaaaa',
    network: { kind: 'private' },
    uts: 'private',
    hostNofile: { soft: 1024, hard: 1048576 },
    ...over,
  };
}

test('process args follow Docker entrypoint/cmd rules', () => {
  const image = { Entrypoint: ['/ep'], Cmd: ['default'] };
  assert.deepEqual(processArgs({ image, args: [] }), ['/ep', 'default']);
  assert.deepEqual(processArgs({ image, args: ['x'] }), ['/ep', 'x']);
  assert.deepEqual(processArgs({ image, args: [], entrypoint: '/other' }), ['/other']);
  assert.deepEqual(processArgs({ image, args: ['y'], entrypoint: '' }), ['y']);
  assert.throws(
    () => processArgs({ image: {}, args: [] }),
    (e) => isTsnerdError(e, 'invalid'),
  );
});

test('env: -e overrides the image per key, PATH default kept only when the image has none', () => {
  const spec = buildOciSpec(input({ env: ['FOO=user', 'BAR=1'] }));
  assert.deepEqual(spec.process.env, ['PATH=/bin', 'FOO=user', 'HOSTNAME=aaaaaaaaaaaa', 'BAR=1']);
  assert.ok(buildOciSpec(input({ image: { Cmd: ['sh'] } })).process.env[0]!.startsWith('PATH=/usr/local/sbin'));
  assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['A=3']), ['A=3', 'B=2']);
});

test('cwd comes from -w, then WorkingDir, then /; relative is refused', () => {
  assert.equal(buildOciSpec(input()).process.cwd, '/');
  assert.equal(buildOciSpec(input({ image: { Cmd: ['sh'], WorkingDir: '/srv' } })).process.cwd, '/srv');
  assert.equal(buildOciSpec(input({ workdir: '/tmp' })).process.cwd, '/tmp');
  assert.throws(() => buildOciSpec(input({ workdir: 'rel' })), /the working directory "rel" is invalid/);
});

test('private network and uts get namespaces and a hostname', () => {
  const spec = buildOciSpec(input());
  assert.deepEqual(
    spec.linux.namespaces.map((n) => n.type),
    ['pid', 'ipc', 'uts', 'mount', 'network'],
  );
  assert.equal(spec.hostname, 'aaaaaaaaaaaa');
  assert.equal(spec.linux.cgroupsPath, `/default/${ID}`);
  assert.equal(spec.process.terminal, false);
  assert.equal(spec.root.readonly, false);
});

test('host network omits the network namespace; uts host omits uts and the hostname', () => {
  const spec = buildOciSpec(input({ network: { kind: 'host' }, uts: 'host', hostname: undefined }));
  assert.deepEqual(
    spec.linux.namespaces.map((n) => n.type),
    ['pid', 'ipc', 'mount'],
  );
  assert.equal(spec.hostname, undefined);
});

test('a namespace path is joined', () => {
  const spec = buildOciSpec(input({ network: { kind: 'path', path: '/proc/42/ns/net' } }));
  assert.deepEqual(
    spec.linux.namespaces.find((n) => n.type === 'network'),
    { type: 'network', path: '/proc/42/ns/net' },
  );
});

test('default mounts, capabilities, masked and readonly paths are present', () => {
  const spec = buildOciSpec(input());
  assert.deepEqual(
    spec.mounts.map((m) => m.destination),
    ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup'],
  );
  assert.ok(spec.mounts.find((m) => m.destination === '/sys')!.options!.includes('ro'));
  assert.ok(spec.process.capabilities.bounding.includes('CAP_NET_RAW'));
  assert.ok(!spec.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
  assert.ok(spec.linux.maskedPaths.includes('/proc/kcore'));
  assert.ok(spec.linux.readonlyPaths.includes('/proc/sys'));
  assert.deepEqual(spec.linux.resources.devices[0], { allow: false, access: 'rwm' });
});

test('RLIMIT_NOFILE never exceeds the host hard limit', () => {
  const [limit] = buildOciSpec(input({ hostNofile: { soft: 256, hard: 512 } })).process.rlimits;
  assert.deepEqual(limit, { type: 'RLIMIT_NOFILE', hard: 512, soft: 512 });
  const [big] = buildOciSpec(input()).process.rlimits;
  assert.deepEqual(big, { type: 'RLIMIT_NOFILE', hard: 1048576, soft: 1024 });
});

test('hooks, extra mounts and annotations are added for the networking work', () => {
  const spec = buildOciSpec(
    input({
      hooks: { createRuntime: [{ path: '/bin/true' }] },
      extraMounts: [{ destination: '/etc/hosts', type: 'bind', source: '/x/hosts', options: ['bind', 'rprivate'] }],
      annotations: { 'tsnerd/name': 'web' },
    }),
  );
  assert.deepEqual(spec.hooks, { createRuntime: [{ path: '/bin/true' }] });
  assert.equal(spec.mounts.at(-1)!.destination, '/etc/hosts');
  assert.equal(spec.annotations!['tsnerd/name'], 'web');
});

test('exec process keeps the container process but replaces args', () => {
  const base = buildOciSpec(input()).process;
  const p = execProcess(base, ['echo', 'hi'], { env: ['X=1'] });
  assert.deepEqual(p.args, ['echo', 'hi']);
  assert.ok(p.env.includes('X=1'));
  assert.equal(p.cwd, base.cwd);
});
