/**
 * Host ports taken by processes, from /proc/net/{tcp,tcp6,udp,udp6} of the
 * caller's network namespace: listening TCP sockets and every bound UDP socket.
 * SCTP is not read (nerdctl neither); other containers' mappings cover it.
 */
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { canonicalIP, formatIPv6 } from '../../domain/publish/host-ip.ts';
import type { Protocol, UsedPort } from '../../domain/publish/port-mapping.ts';

const TCP_LISTEN = 0x0a;

const PROC_NET_FILES: ReadonlyArray<{ file: string; protocol: Protocol }> = [
  { file: 'tcp', protocol: 'tcp' },
  { file: 'tcp6', protocol: 'tcp' },
  { file: 'udp', protocol: 'udp' },
  { file: 'udp6', protocol: 'udp' },
];

/** A used port with the inode of its socket (a process holds it by a descriptor `socket:[inode]`). */
export interface BoundSocket extends UsedPort {
  inode: number;
}

/** Parses one /proc/net table. The kernel prints each 32-bit word of an address in host byte order. */
export function parseProcNet(text: string, protocol: Protocol, littleEndian = endianness() === 'LE'): UsedPort[] {
  return parseProcNetSockets(text, protocol, littleEndian).map(({ protocol: p, hostIP, port }) => ({ protocol: p, hostIP, port }));
}

/** parseProcNet with each socket's inode. */
export function parseProcNetSockets(text: string, protocol: Protocol, littleEndian = endianness() === 'LE'): BoundSocket[] {
  const used: BoundSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const state = Number.parseInt(fields[3] ?? '', 16);
    if (!local || Number.isNaN(state)) continue;
    if (protocol === 'tcp' && state !== TCP_LISTEN) continue;
    const [addrHex = '', portHex = ''] = local.split(':');
    const hostIP = decodeAddress(addrHex, littleEndian);
    const port = Number.parseInt(portHex, 16);
    if (hostIP === undefined || Number.isNaN(port)) continue;
    used.push({ protocol, hostIP, port, inode: Number(fields[9] ?? 0) });
  }
  return used;
}

function decodeAddress(hex: string, littleEndian: boolean): string | undefined {
  if ((hex.length !== 8 && hex.length !== 32) || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(w + i, w + i + 2), 16));
    bytes.push(...(littleEndian ? word.reverse() : word));
  }
  if (bytes.length === 4) return bytes.join('.');
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  const text = formatIPv6(groups);
  return canonicalIP(text) ?? text;
}

/** Ports in use on this host (a missing table, e.g. tcp6 with IPv6 disabled, counts as empty). */
export async function readUsedHostPorts(procRoot = '/proc'): Promise<UsedPort[]> {
  return (await readBoundSockets(procRoot)).map(({ protocol, hostIP, port }) => ({ protocol, hostIP, port }));
}

/** readUsedHostPorts with each socket's inode. */
export async function readBoundSockets(procRoot = '/proc'): Promise<BoundSocket[]> {
  const tables = await Promise.all(
    PROC_NET_FILES.map(async ({ file, protocol }) => {
      try {
        return parseProcNetSockets(await readFile(`${procRoot}/net/${file}`, 'utf8'), protocol);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
    }),
  );
  return tables.flat();
}
