/**
 * Helpers the e2e files share (re-exported by harness.ts): tsnerd calls that must succeed
 * or fail, addresses of containers, per-test cleanup, HTTP with retries, probes of host
 * ports, links and host-local allocations.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { tsnerd, type TestEnv } from './harness.ts';
import { removeBridgeRules } from '../../src/adapters/netfilter/isolation-rules.ts';

/** Non-empty lines. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** `tsnerd args` that must exit 0: its stdout, trimmed. */
export async function ok(env: TestEnv, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await tsnerd(env, args, { timeoutMs: 120_000, ...opts });
  assert.equal(r.exitCode, 0, `tsnerd ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * `network gc` once more, after a gc that released what a test left: it must find nothing, but
 * for the files of a CLI or hook server that was still serving during the first gc and has
 * exited since (after a killed predecessor it keeps its log for the post-mortem, and gc removes
 * that: when it exits is the load's business, not the test's).
 */
export async function secondGcFindsNothing(env: TestEnv): Promise<void> {
  const found = lines(await ok(env, ['network', 'gc']))
    .slice(1)
    .filter((l) => !/\s(cli|hook)-server-file\s/.test(l));
  assert.deepEqual(found, [], 'a second gc found more');
}

/** Polls `check` every `pollMs` until it gives a value (not undefined or false): that value; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  pollMs = 25,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(pollMs);
  }
}

/** `tsnerd args` that must fail: its stderr, trimmed, without the `tsnerd: ` prefix. */
export async function fails(env: TestEnv, args: string[]): Promise<string> {
  const r = await tsnerd(env, args, { timeoutMs: 120_000 });
  assert.notEqual(r.exitCode, 0, `tsnerd ${args.join(' ')} should fail`);
  return r.stderr.trim().replace(/^tsnerd: /, '');
}

interface Inspected {
  Id: string;
  State: { Pid: number };
  NetworkSettings: {
    IPAddress: string;
    Networks: Record<string, { IPAddress: string; MacAddress: string; GlobalIPv6Address: string; EndpointID: string }>;
  };
}

export async function inspectContainer(env: TestEnv, name: string): Promise<Inspected> {
  return (JSON.parse(await ok(env, ['inspect', name])) as Inspected[])[0]!;
}

/** A container's IPv4 address as inspect shows it (on `net`, or its first network). */
export async function ipOf(env: TestEnv, name: string, net?: string): Promise<string> {
  const info = await inspectContainer(env, name);
  return net ? info.NetworkSettings.Networks[net]!.IPAddress : info.NetworkSettings.IPAddress;
}

/** A container's IPv4 address as the container itself sees it on `ifName`. */
export async function ipv4Of(env: TestEnv, name: string, ifName = 'eth0'): Promise<string> {
  const m = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(await ok(env, ['exec', name, 'ip', '-o', '-4', 'addr', 'show', ifName]));
  assert.ok(m, `${name} has an IPv4 address on ${ifName}`);
  return m[1]!;
}

/**
 * Removes, once the test is over (passed or failed), the containers and networks it
 * names: each test cleans up after itself, so tests run alone and in any order.
 */
export function removeAfter(t: TestContext, env: TestEnv, what: { containers?: string[]; networks?: string[] }): void {
  t.after(async () => {
    if (what.containers?.length) await tsnerd(env, ['rm', '-f', ...what.containers]);
    for (const net of what.networks ?? []) await tsnerd(env, ['network', 'rm', net]);
  });
}

/** Removes every container of the env (for a file's after hook; networks stay the tests' job). */
export async function removeAllContainers(env: TestEnv): Promise<void> {
  const ids = lines((await tsnerd(env, ['ps', '-aq'])).stdout);
  if (ids.length > 0) await tsnerd(env, ['rm', '-f', ...ids]);
}

/** The body at url, retried while a server comes up. */
export async function httpGet(url: string, tries = 50): Promise<string> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      return await (await fetch(url, { signal: AbortSignal.timeout(2000) })).text();
    } catch (err) {
      last = err;
      await sleep(100);
    }
  }
  throw new Error(`GET ${url} failed: ${String((last as Error).cause ?? last)}`);
}

/** Listens on tcp host:port (exclusively). */
export function listen(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}

/** Tries to listen on tcp host:port: resolves the error code, or 'OK' (and closes again). */
export function tryListen(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'ERROR'));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve('OK')));
  });
}

export async function canBind(host: string, port: number): Promise<boolean> {
  return (await tryListen(host, port)) === 'OK';
}

export async function linkExists(link: string): Promise<boolean> {
  return (await execa('ip', ['link', 'show', 'dev', link], { reject: false })).exitCode === 0;
}

/** host-local's per-IP files of a network. */
export async function allocations(net: string): Promise<string[]> {
  const files = await readdir(join('/var/lib/cni/networks', net)).catch(() => [] as string[]);
  return files.filter((f) => /^[\d.:a-f]+$/.test(f) && /\d/.test(f));
}

/** `tsnerd args` that must fail with exactly one line on stderr (bad input gives one clear line): that line. */
export async function failsWithOneLine(env: TestEnv, args: string[]): Promise<string> {
  const r = await tsnerd(env, args, { timeoutMs: 120_000 });
  assert.notEqual(r.exitCode, 0, `tsnerd ${args.join(' ')} succeeded: ${r.stdout}`);
  const found = r.stderr.trim().split('\n');
  assert.equal(found.length, 1, `one line from tsnerd ${args.join(' ')}: ${r.stderr}`);
  return found[0]!;
}

/** `tsnerd args` retried until it exits 0 (a new IPv6 address is tentative until duplicate address detection is done, ~1-2 s): its stdout. */
export async function eventually(env: TestEnv, args: string[], tries = 20): Promise<string> {
  let last = '';
  for (let i = 0; i < tries; i++) {
    const r = await tsnerd(env, args);
    if (r.exitCode === 0) return r.stdout.trim();
    last = r.stderr || r.stdout;
    await sleep(500);
  }
  return assert.fail(`tsnerd ${args.join(' ')} kept failing: ${last}`);
}

/**
 * A file's after hook: every container of the env, then the networks (network rm deletes their
 * bridges, which the harness's leftover check would report), then the env itself.
 */
export async function closeEnv(env: TestEnv | undefined, networks: readonly string[]): Promise<void> {
  if (!env) return;
  await removeAllContainers(env);
  if (networks.length > 0) await tsnerd(env, ['network', 'rm', ...networks]);
  await env.stop();
}

/**
 * A `tuning` plugin in `dir` (put `dir` first in CNI_PATH) that runs the real one from
 * `cniPath` and then, on ADD while `<dir>/hold` exists, touches `marker` (shell words:
 * `$CNI_CONTAINERID` expands) and waits until `hold` is gone: an ADD held after the chain's
 * last plugin, for tests that act while a hook attaches. `pollSeconds`: how often a held ADD
 * looks for `hold` (a longer one for many held at once: each look is a `sleep` child).
 */
export async function holdingTuning(dir: string, cniPath: string, marker: string, pollSeconds = 0.05): Promise<void> {
  const hold = join(dir, 'hold');
  const wrapper = [
    '#!/bin/sh',
    `out=$(${cniPath}/tuning); rc=$?`,
    `if [ "$CNI_COMMAND" = ADD ] && [ -f ${hold} ]; then`,
    `  touch ${marker}`,
    `  while [ -f ${hold} ]; do sleep ${pollSeconds}; done`,
    'fi',
    'printf "%s" "$out"',
    'exit $rc',
    '',
  ].join('\n');
  await writeFile(join(dir, 'tuning'), wrapper);
  await chmod(join(dir, 'tuning'), 0o755);
}

/** Pids of the live processes whose argv (and /proc stat line) `match` accepts. */
export async function processesWhere(match: (argv: string[], stat: string) => boolean): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (stat !== '' && !/ [ZX] /.test(stat.slice(stat.lastIndexOf(')'))) && match(argv, stat)) pids.push(Number(entry));
  }
  return pids;
}

/**
 * Deletes a bridge a test made or its plugins made for it, with the firewall plugin's isolation
 * rules of it (its first ADD on the bridge adds them and no DEL removes them; `network rm` does
 * for tsnerd's networks) and tsnerd's DNS rules of it. Best effort: runs after a failed test too.
 */
export async function deleteBridge(name: string): Promise<void> {
  await execa('ip', ['link', 'del', 'dev', name], { reject: false });
  await removeBridgeRules(name);
}

/** Every rule of the host (nat and filter) that is the container's: names its CNI ID, its address, or a chain that does. */
export async function rulesOf(cniId: string, ip: string): Promise<string[]> {
  const out: string[] = [];
  for (const table of ['nat', 'filter']) {
    const lines = (await execa('iptables', ['-w', '-t', table, '-S'])).stdout.split('\n');
    const chains = new Set<string>();
    for (const l of lines) {
      if (!l.startsWith('-A ') || !l.includes(cniId)) continue;
      for (const c of [l.split(' ')[1], / -j (\S+)/.exec(l)?.[1]]) if (c && /^CNI-(DN-)?[0-9a-f]{20,}$/.test(c)) chains.add(c);
    }
    for (const l of lines) {
      const chain = l.split(' ')[1] ?? '';
      if (l.includes(cniId) || l.includes(`${ip}/32`) || l.includes(`${ip}:`) || chains.has(chain)) out.push(`${table} ${l}`);
    }
  }
  return out.sort();
}

/** What a flush does to the container: each of its rules deleted, then its own chains. */
export async function flushOf(rules: readonly string[]): Promise<void> {
  for (const table of ['nat', 'filter']) {
    const mine = rules.filter((r) => r.startsWith(`${table} `)).map((r) => r.slice(table.length + 1));
    const deletes = mine.filter((l) => l.startsWith('-A ')).map((l) => `-D${l.slice(2)}`);
    const chains = mine.filter((l) => l.startsWith('-N ')).map((l) => `-X${l.slice(2)}`);
    await execa('iptables-restore', ['--noflush', '--wait'], { input: [`*${table}`, ...deletes, ...chains, 'COMMIT', ''].join('\n') });
  }
}
