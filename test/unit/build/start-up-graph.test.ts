/**
 * What the per-container processes load at start-up (issue 6, docs/performance.md):
 * the static import graph of the OCI hook and of the CLI fast path, as esbuild
 * resolves it, must not pull in the heavy libraries they were freed of. Dynamic
 * imports (loaded only when needed) are allowed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { build, type Metafile } from 'esbuild';

const ROOT = new URL('../../../', import.meta.url).pathname;

/** Inputs reachable from `entry` through static imports only. */
async function staticGraph(entry: string): Promise<Set<string>> {
  const r = await build({
    entryPoints: [`${ROOT}${entry}`],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    write: false,
    metafile: true,
    outdir: '/tmp/tsnerd-graph-test',
    splitting: true,
    logLevel: 'silent',
    absWorkingDir: ROOT,
  });
  const inputs: Metafile['inputs'] = r.metafile.inputs;
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imp of inputs[file]?.imports ?? []) if (imp.kind !== 'dynamic-import' && !imp.external) queue.push(imp.path);
  }
  return seen;
}

const pkg = (file: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1];

describe('start-up import graph', () => {
  it('the OCI hook loads neither oclif, gRPC, protobufjs, execa, ip-num nor classic zod', async () => {
    const graph = await staticGraph('src/hook/main.ts');
    const packages = new Set([...graph].map(pkg).filter((p) => p !== undefined));
    assert.ok(packages.has('zod') && graph.has('src/hook/args.ts'), 'the graph was walked');
    for (const heavy of ['@oclif/core', '@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs', 'execa', 'ip-num']) {
      assert.ok(!packages.has(heavy), `the hook imports ${heavy}`);
    }
    assert.ok(![...graph].some((f) => /node_modules\/zod\/v4\/classic\//.test(f)), 'the hook imports classic zod');
  });

  it('the hook server loads what the hook loads and no more: neither oclif, gRPC, protobufjs, execa, ip-num nor classic zod', async () => {
    const graph = await staticGraph('src/hook-server/main.ts');
    const packages = new Set([...graph].map(pkg).filter((p) => p !== undefined));
    assert.ok(graph.has('src/hook/run-hook.ts') && graph.has('src/hook-server/protocol.ts'), 'the graph was walked');
    for (const heavy of ['@oclif/core', '@grpc/grpc-js', '@grpc/proto-loader', 'protobufjs', 'execa', 'ip-num']) {
      assert.ok(!packages.has(heavy), `the hook server imports ${heavy}`);
    }
    assert.ok(![...graph].some((f) => /node_modules\/zod\/v4\/classic\//.test(f)), 'the hook server imports classic zod');
    const hook = await staticGraph('src/hook/main.ts');
    // Its own files, and the socket server's life it shares with the CLI server (node built-ins only).
    const extra = [...graph].filter((f) => !hook.has(f) && !f.startsWith('src/hook-server/') && f !== 'src/adapters/host/socket-server.ts');
    assert.deepEqual(extra, [], 'the hook server imports modules the hook process does not');
    const life = await staticGraph('src/adapters/host/socket-server.ts');
    assert.deepEqual(
      [...life].filter((f) => !hook.has(f) && f !== 'src/adapters/host/socket-server.ts'),
      [],
      'the socket server imports modules the hook process does not',
    );
  });

  it('run/create/start/rm/network ls on the fast path load no oclif, execa or ip-num up front', async () => {
    for (const entry of ['src/cli/container-actions.ts', 'src/cli/network-actions.ts', 'src/cli/fast-path.ts', 'src/cli/fast-main.ts']) {
      const packages = new Set([...(await staticGraph(entry))].map(pkg).filter((p) => p !== undefined));
      for (const heavy of ['@oclif/core', 'execa', 'ip-num']) assert.ok(!packages.has(heavy), `${entry} imports ${heavy}`);
    }
  });

  it('the DNS resolver process loads dns-packet and node built-ins only (zod alone costs it ~15 MB RSS)', async () => {
    const graph = await staticGraph('src/dns-server/main.ts');
    const packages = new Set([...graph].map(pkg).filter((p) => p !== undefined));
    assert.ok(graph.has('src/dns-server/handler.ts'), 'the graph was walked');
    assert.deepEqual([...packages].sort(), ['@leichtgewicht/ip-codec', 'dns-packet']);
  });
});
