/**
 * Resolves an image or `--user` value (`uid`, `name`, `uid:gid`, `name:group`)
 * to numeric ids, reading passwd/group content the caller took from the rootfs.
 */
import { invalid } from './errors.ts';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids?: number[];
}

export interface AccountFiles {
  passwd?: string | undefined;
  group?: string | undefined;
}

interface Entry {
  name: string;
  id: number;
  gid: number;
}

/** True when resolving `user` needs the rootfs's passwd or group file. */
export function userNeedsLookup(user: string | undefined): boolean {
  if (!user) return false;
  const [u = '', g] = user.split(':');
  return !isNumeric(u) || g === undefined || !isNumeric(g);
}

export function resolveUser(user: string | undefined, files: AccountFiles = {}): ResolvedUser {
  if (!user) return { uid: 0, gid: 0 };
  const [userPart = '', groupPart, ...rest] = user.split(':');
  if (userPart === '' || rest.length > 0 || groupPart === '') throw invalid(`invalid user "${user}"`);
  const passwd = parseTable(files.passwd, 2, 3);
  let uid: number;
  let gid: number;
  if (isNumeric(userPart)) {
    uid = Number(userPart);
    gid = passwd.find((e) => e.id === uid)?.gid ?? 0;
  } else {
    const entry = passwd.find((e) => e.name === userPart);
    if (!entry) throw invalid(`unable to find user "${userPart}": no matching entries in passwd file`);
    uid = entry.id;
    gid = entry.gid;
  }
  if (groupPart !== undefined) {
    if (isNumeric(groupPart)) gid = Number(groupPart);
    else {
      const entry = parseTable(files.group, 2, 2).find((e) => e.name === groupPart);
      if (!entry) throw invalid(`unable to find group "${groupPart}": no matching entries in group file`);
      gid = entry.id;
    }
  }
  return { uid, gid };
}

function isNumeric(s: string): boolean {
  return /^[0-9]+$/.test(s);
}

/** Parses colon-separated account lines (passwd: name:x:uid:gid:..., group: name:x:gid:...). */
function parseTable(text: string | undefined, idField: number, gidField: number): Entry[] {
  if (!text) return [];
  const entries: Entry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(':');
    const name = fields[0];
    const id = fields[idField];
    const gid = fields[gidField];
    if (!name || name.startsWith('#') || id === undefined || gid === undefined) continue;
    if (!isNumeric(id) || !isNumeric(gid)) continue;
    entries.push({ name, id: Number(id), gid: Number(gid) });
  }
  return entries;
}
