/**
 * What the e2e DNS files share: a network's bridge, busybox nslookup in a container, and a DNS
 * query over TCP from inside a container's network namespace (busybox nslookup has no TCP mode).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { execa } from 'execa';
import { ok, tsnerd, type TestEnv } from '../harness.ts';

/** The bridge of a network, from its conflist. */
export async function bridgeOf(env: TestEnv, net: string): Promise<string> {
  for (const entry of await readdir(env.netconfPath, { recursive: true })) {
    if (!entry.endsWith(`nerdctl-${net}.conflist`)) continue;
    const conf = JSON.parse(await readFile(join(env.netconfPath, entry), 'utf8')) as { plugins: { type: string; bridge?: string }[] };
    const bridge = conf.plugins.find((p) => p.type === 'bridge')?.bridge;
    if (bridge) return bridge;
  }
  throw new Error(`no conflist for ${net}`);
}

/** The addresses busybox nslookup prints for `name` asked at `server` (port 53), empty when it gets none. */
export async function lookup(
  env: TestEnv,
  container: string,
  name: string,
  server: string,
): Promise<{ addresses: string[]; output: string }> {
  const r = await tsnerd(env, ['exec', container, 'nslookup', '-type=a', name, server], { timeoutMs: 60_000 });
  const answers = r.stdout
    .split(/\n\s*\n/)
    .slice(1)
    .join('\n');
  return { addresses: [...answers.matchAll(/^Address:\s*(\S+)$/gm)].map((m) => m[1]!), output: r.stdout + r.stderr };
}

/** The container's init pid (its network namespace is /proc/<pid>/ns/net). */
export async function pidOf(env: TestEnv, container: string): Promise<number> {
  return (JSON.parse(await ok(env, ['inspect', container])) as { State: { Pid: number } }[])[0]!.State.Pid;
}

/** A TCP query to server:53 from inside the container's netns: the A records, or the error. */
export async function tcpLookup(env: TestEnv, container: string, name: string, server: string): Promise<string[] | string> {
  return tcpLookupIn(await pidOf(env, container), name, server);
}

/** The A records, or the error (`timeout`, `ECONNREFUSED`, ...). */
export async function tcpLookupIn(pid: number, name: string, server: string): Promise<string[] | string> {
  const query = dnsPacket.streamEncode({ id: 7, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }] });
  const client = [
    "const s = require('node:net').connect({ host: process.argv[1], port: 53 });",
    "s.setTimeout(3000, () => { console.error('timeout'); process.exit(2); });",
    "s.on('error', (e) => { console.error(e.code); process.exit(2); });",
    "s.on('connect', () => s.write(Buffer.from(process.argv[2], 'hex')));",
    'let b = Buffer.alloc(0);',
    "s.on('data', (d) => { b = Buffer.concat([b, d]); if (b.length >= 2 && b.length >= b.readUInt16BE(0) + 2) { console.log(b.toString('hex')); s.destroy(); } });",
  ].join('\n');
  const r = await execa('nsenter', [`--net=/proc/${pid}/ns/net`, '--', process.execPath, '-e', client, server, query.toString('hex')], {
    reject: false,
  });
  if (r.exitCode !== 0) return String(r.stderr).trim() || `exit ${r.exitCode}`;
  const answer = dnsPacket.streamDecode(Buffer.from(String(r.stdout).trim(), 'hex'));
  return (answer.answers ?? []).map((a) => (a as dnsPacket.StringAnswer).data);
}
