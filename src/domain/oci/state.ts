/** The OCI runtime state a hook receives on stdin, and the tsnerd annotations in it. */
import { Labels } from '../labels.ts';
import { invalid } from '../errors.ts';
import { quote } from '../text.ts';

export interface OciState {
  id: string;
  pid: number;
  bundle: string;
  annotations: Record<string, string>;
}

export interface HookContainer {
  id: string;
  pid: number;
  namespace: string;
  stateDir: string;
  annotations: Record<string, string>;
}

/** containerd's identifier rule (pkg/identifiers) for container IDs and namespaces. */
const IDENTIFIER = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const MAX_IDENTIFIER = 76;

function isIdentifier(value: unknown): value is string {
  return typeof value === 'string' && IDENTIFIER.test(value) && value.length <= MAX_IDENTIFIER;
}

/**
 * The runtime state runc writes on the hook's stdin, checked before anything
 * acts on it: a malformed state is one short `invalid` error naming the field.
 */
export function parseOciState(text: string): HookContainer {
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    throw invalid('the runtime state on stdin is not valid JSON');
  }
  if (typeof state !== 'object' || state === null || Array.isArray(state)) {
    throw invalid('the runtime state on stdin is not a JSON object');
  }
  const { id, pid = 0, annotations = {} } = state as Record<string, unknown>;
  if (!isIdentifier(id)) throw invalid(`invalid container id ${shown(id)} in the runtime state`);
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid < 0) throw invalid(`invalid pid ${shown(pid)} in the runtime state`);
  if (
    typeof annotations !== 'object' ||
    annotations === null ||
    Array.isArray(annotations) ||
    !Object.values(annotations).every((v) => typeof v === 'string')
  ) {
    throw invalid('the annotations in the runtime state are not an object of strings');
  }
  const strings = annotations as Record<string, string>;
  const namespace = strings[Labels.namespace];
  const stateDir = strings[Labels.stateDir];
  if (namespace === undefined || stateDir === undefined) {
    throw invalid(`the runtime state lacks the ${Labels.namespace} or ${Labels.stateDir} annotation`);
  }
  if (!isIdentifier(namespace)) throw invalid(`invalid namespace ${quote(namespace)} in annotation ${Labels.namespace}`);
  return { id, pid, namespace, stateDir, annotations: strings };
}

/** A JSON value of the state in a message: strings quoted and escaped, anything else as JSON. */
function shown(value: unknown): string {
  return typeof value === 'string' ? quote(value) : quote(JSON.stringify(value) ?? String(value));
}
