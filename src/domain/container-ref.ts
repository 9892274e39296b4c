/** Container IDs, names and how a user's reference picks one container. */
import { invalid, notFound } from './errors.ts';
import { quote } from './text.ts';

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function newContainerId(): string {
  // node:crypto on first use: the OCI hook imports this module but never makes an ID (~3 ms of its start-up).
  return process.getBuiltinModule('node:crypto').randomBytes(32).toString('hex');
}

/** The 12-character prefix Docker and nerdctl show for container and network IDs. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

/** A name is a file name in the store (`names/<ns>/<name>`): at most NAME_MAX bytes. */
const MAX_NAME_LENGTH = 255;

export function validateContainerName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw invalid(`invalid container name ${quote(name)}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  if (name.length > MAX_NAME_LENGTH) throw invalid(`invalid container name ${quote(name)}: longer than ${MAX_NAME_LENGTH} characters`);
}

/** nerdctl's default name: the image's last path element plus 5 hex of the ID. */
export function defaultContainerName(imageRef: string, id: string): string {
  const base = (imageRef.split('/').pop() ?? 'ctr').split(/[:@]/)[0] ?? 'ctr';
  const clean = base.replace(/[^a-zA-Z0-9_.-]/g, '') || 'ctr';
  return `${clean}-${id.slice(0, 5)}`;
}

export interface NamedContainer {
  id: string;
  name: string | undefined;
}

/** Exact ID, then exact name, then a unique ID prefix (Docker's order). */
export function findContainer<T extends NamedContainer>(query: string, containers: readonly T[]): T {
  const byId = containers.find((c) => c.id === query);
  if (byId) return byId;
  const byName = containers.find((c) => c.name === query);
  if (byName) return byName;
  const byPrefix = query === '' ? [] : containers.filter((c) => c.id.startsWith(query));
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw invalid(`multiple IDs found with provided prefix: ${quote(query)}`);
  throw notFound(`no such container: ${quote(query)}`);
}
