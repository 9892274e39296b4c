/** The OCI runtime state a hook receives on stdin, and the tsnerd annotations in it. */
import { Labels } from '../labels.ts';
import { invalid } from '../errors.ts';

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

export function parseOciState(text: string): HookContainer {
  let state: Partial<OciState>;
  try {
    state = JSON.parse(text) as Partial<OciState>;
  } catch (err) {
    throw invalid(`oci-hook: the runtime state on stdin is not JSON: ${(err as Error).message}`);
  }
  const annotations = state.annotations ?? {};
  const namespace = annotations[Labels.namespace];
  const stateDir = annotations[Labels.stateDir];
  if (!state.id || !namespace || !stateDir) {
    throw invalid(`oci-hook: the runtime state lacks the container id or the ${Labels.namespace}/${Labels.stateDir} annotations`);
  }
  return { id: state.id, pid: state.pid ?? 0, namespace, stateDir, annotations };
}

