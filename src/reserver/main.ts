/**
 * The port-reserver process (nerdctl v2.1.6 "port reservation"): binds every
 * published host port of one container so `ss -lnt` shows it and nothing else
 * can take it, then idles until killed. Lean on purpose (node built-ins only):
 * one runs per container with published ports.
 *
 * argv: <pid file> <bindings JSON: [{protocol, hostIP, hostPort}]>
 * fd 3: readiness pipe; one JSON line, {"ok":true} after every bind succeeded,
 * else {"ok":false,...} and exit 1. The pid file is written before "ok".
 * Started and stopped by src/adapters/host/process-port-reserver.ts.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { closeSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, isIPv6, type Server } from 'node:net';
import type { HostBinding } from '../domain/publish/port-mapping.ts';

const READY_FD = 3;

type Binding = HostBinding;

type Held = Server | UdpSocket;

function bindTcp(b: Binding): Promise<Held> {
  return new Promise((resolve, reject) => {
    // Nothing should ever be accepted here (portmap DNATs the port); refuse politely if it is.
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen({ host: b.hostIP, port: b.hostPort, exclusive: true, ipv6Only: false }, () => resolve(server));
  });
}

function bindUdp(b: Binding): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: isIPv6(b.hostIP) ? 'udp6' : 'udp4', reuseAddr: false });
    socket.once('error', reject);
    socket.bind({ address: b.hostIP, port: b.hostPort, exclusive: true }, () => resolve(socket));
  });
}

function report(message: Record<string, unknown>): void {
  try {
    writeSync(READY_FD, `${JSON.stringify(message)}\n`);
    closeSync(READY_FD);
  } catch {
    // The starter went away; the reservation still holds.
  }
}

async function main(): Promise<void> {
  const [pidFile, bindingsJson] = process.argv.slice(2);
  if (!pidFile || !bindingsJson) {
    report({ ok: false, message: 'usage: port-reserver <pid file> <bindings JSON>' });
    process.exit(2);
  }
  const held: Held[] = [];
  for (const b of JSON.parse(bindingsJson) as Binding[]) {
    try {
      if (b.protocol === 'tcp') held.push(await bindTcp(b));
      else if (b.protocol === 'udp') held.push(await bindUdp(b));
      // Node cannot open SCTP sockets: those ports are guarded by the conflict check only.
      else process.stderr.write(`port-reserver: ${b.protocol} ${b.hostIP}:${b.hostPort} not reserved\n`);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      report({ ok: false, code: e.code ?? 'UNKNOWN', message: e.message, binding: b });
      process.exit(1);
    }
  }
  writeFileSync(`${pidFile}.tmp`, `${process.pid}\n`);
  renameSync(`${pidFile}.tmp`, pidFile);
  report({ ok: true, count: held.length });
}

await main();
