/**
 * The overlay agent's side of the data store's dns dir (docs/dns.md, "Names across hosts"):
 * it reads the record set the OCI hook keeps (records.json) and writes the other hosts' names
 * of its network to a lowdb document of its own, `remote-<namespace>%2F<network>.json`, which
 * the resolver (src/dns-server/main.ts) reads next to records.json. One writer per file (the
 * network's agent; `network rm` removes it after stopping the agent): no lock needed, and
 * lowdb's write (a temp file renamed) never shows the resolver half a file.
 */
import { mkdirSync, readFileSync, rmSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { TextFile } from '../store/lowdb-files.ts';
import { emptyRecordSet, parseRecordSet, remoteRecordsFile, type DnsRecordSet, type RemoteRecordSet } from '../../domain/dns/records.ts';
import { DNS_RECORDS_FILE } from './store-dns-registry.ts';

const POLL_MS = 1_000;

/** The hook's record set; empty when there is none yet. Throws when it does not parse. */
export async function readLocalRecords(dnsDir: string): Promise<DnsRecordSet> {
  let text: string;
  try {
    text = readFileSync(join(dnsDir, DNS_RECORDS_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyRecordSet();
    throw err;
  }
  return parseRecordSet(JSON.parse(text));
}

export async function writeRemoteRecords(dnsDir: string, namespace: string, network: string, set: RemoteRecordSet): Promise<void> {
  mkdirSync(dnsDir, { recursive: true });
  await new TextFile(join(dnsDir, remoteRecordsFile(namespace, network))).write(JSON.stringify(set, null, 2));
}

export async function removeRemoteRecords(dnsDir: string, namespace: string, network: string): Promise<void> {
  rmSync(join(dnsDir, remoteRecordsFile(namespace, network)), { force: true });
}

/**
 * Calls `onChange` when records.json is replaced: inotify on the dir, backed by a 1 s look at
 * the file's stamp (inotify events can be missed: the dir made after the watch, a full queue).
 * Returns the stop function.
 */
export function watchLocalRecords(dnsDir: string, onChange: () => void): () => void {
  mkdirSync(dnsDir, { recursive: true });
  const path = join(dnsDir, DNS_RECORDS_FILE);
  const stampOf = (): string => {
    const st = statSync(path, { throwIfNoEntry: false });
    return st ? `${st.ino}:${st.mtimeMs}:${st.size}` : 'none';
  };
  let stamp = stampOf();
  const look = (): void => {
    const now = stampOf();
    if (now === stamp) return;
    stamp = now;
    onChange();
  };
  const watcher = watch(dnsDir, { persistent: false }, (_event, name) => {
    if (name === DNS_RECORDS_FILE || name === null) look();
  });
  watcher.on('error', () => undefined); // the poll goes on
  const timer = setInterval(look, POLL_MS);
  return () => {
    clearInterval(timer);
    watcher.close();
  };
}
