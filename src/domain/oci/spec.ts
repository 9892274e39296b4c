/**
 * The OCI runtime spec (config.json) of a container, built from the image
 * config and the run options. Seccomp is left out on purpose: runc then runs
 * without a syscall filter (as `--security-opt seccomp=unconfined`).
 */
import { invalid } from '../errors.ts';
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_NOFILE,
  DEFAULT_PATH_ENV,
  MASKED_PATHS,
  READONLY_PATHS,
  defaultDeviceRules,
  defaultMounts,
} from './defaults.ts';
import type { ResolvedUser } from '../user-spec.ts';
import type { OciHooks, OciMount, OciNamespace, OciProcess, OciRlimit, OciSpec } from './types.ts';
import { quote } from '../text.ts';

export type { OciHook, OciHooks, OciLinuxDeviceCgroup, OciMount, OciNamespace, OciProcess, OciRlimit, OciSpec } from './types.ts';

export const OCI_SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';

/** The fields of an OCI image config that shape the process (Docker's casing). */
export interface ImageRuntimeConfig {
  Entrypoint?: string[] | null | undefined;
  Cmd?: string[] | null | undefined;
  Env?: string[] | null | undefined;
  WorkingDir?: string | undefined;
  User?: string | undefined;
  /** `{"80/tcp":{}}`: the ports `-P` publishes. */
  ExposedPorts?: Record<string, unknown> | undefined;
}

/** How a namespace is obtained: a new one, the host's (omitted), or joined by path. */
export type NamespaceSource = { kind: 'private' } | { kind: 'host' } | { kind: 'path'; path: string };

export interface CommandInput {
  image: ImageRuntimeConfig;
  /** Arguments after the image on the command line. */
  args: string[];
  /** `--entrypoint`; the empty string clears the image's entrypoint. */
  entrypoint?: string | undefined;
}

export interface SpecInput extends CommandInput {
  id: string;
  namespace: string;
  /** `KEY=VALUE` pairs from `-e`, already validated; they override the image's. */
  env: string[];
  workdir?: string | undefined;
  user: ResolvedUser;
  /** Undefined when the UTS namespace is the host's. */
  hostname?: string | undefined;
  domainname?: string | undefined;
  network: NamespaceSource;
  uts: 'private' | 'host';
  hostNofile: { soft: number; hard: number };
  rootfsPath?: string;
  hooks?: OciHooks | undefined;
  extraMounts?: OciMount[] | undefined;
  annotations?: Record<string, string> | undefined;
}

/** Docker's rule: --entrypoint drops the image's Cmd; user args replace Cmd. */
export function processArgs(input: CommandInput): string[] {
  const entrypoint = input.entrypoint === undefined ? (input.image.Entrypoint ?? []) : input.entrypoint === '' ? [] : [input.entrypoint];
  const cmd = input.args.length > 0 || input.entrypoint !== undefined ? input.args : (input.image.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw invalid('no command specified');
  return args;
}

/** Later entries win per key, as `-e` overrides the image's Env. */
export function mergeEnv(...lists: (readonly string[])[]): string[] {
  const byKey = new Map<string, string>();
  for (const entry of lists.flat()) {
    const eq = entry.indexOf('=');
    byKey.set(eq < 0 ? entry : entry.slice(0, eq), entry);
  }
  return [...byKey.values()];
}

export function buildOciSpec(input: SpecInput): OciSpec {
  const cwd = input.workdir || input.image.WorkingDir || '/';
  if (!cwd.startsWith('/')) throw invalid(`the working directory ${quote(cwd)} is invalid, it needs to be an absolute path`);
  const env = mergeEnv(
    [DEFAULT_PATH_ENV],
    input.image.Env ?? [],
    input.hostname === undefined ? [] : [`HOSTNAME=${input.hostname}`],
    input.env,
  );
  const caps = [...DEFAULT_CAPABILITIES];
  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: input.user,
      args: processArgs(input),
      env,
      cwd,
      capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
      rlimits: [nofileLimit(input.hostNofile)],
      noNewPrivileges: true,
    },
    root: { path: input.rootfsPath ?? 'rootfs', readonly: false },
    mounts: [...defaultMounts(), ...(input.extraMounts ?? [])],
    linux: {
      resources: { devices: defaultDeviceRules() },
      // nerdctl's cgroupfs layout: one cgroup per containerd namespace.
      cgroupsPath: `/${input.namespace}/${input.id}`,
      namespaces: linuxNamespaces(input),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
  if (input.uts === 'private' && input.hostname !== undefined) spec.hostname = input.hostname;
  if (input.uts === 'private' && input.domainname) spec.domainname = input.domainname;
  if (input.hooks) spec.hooks = input.hooks;
  if (input.annotations && Object.keys(input.annotations).length > 0) spec.annotations = input.annotations;
  return spec;
}

function nofileLimit(host: { soft: number; hard: number }): OciRlimit {
  const hard = Math.min(DEFAULT_NOFILE.hard, host.hard);
  return { type: 'RLIMIT_NOFILE', hard, soft: Math.min(DEFAULT_NOFILE.soft, hard) };
}

function linuxNamespaces(input: SpecInput): OciNamespace[] {
  const list: OciNamespace[] = [{ type: 'pid' }, { type: 'ipc' }];
  if (input.uts === 'private') list.push({ type: 'uts' });
  list.push({ type: 'mount' });
  if (input.network.kind === 'private') list.push({ type: 'network' });
  if (input.network.kind === 'path') list.push({ type: 'network', path: input.network.path });
  return list;
}

/** A process spec for `exec`: the container's process with new args (and optionally env/cwd). */
export function execProcess(base: OciProcess, args: string[], extra: { env?: string[]; cwd?: string } = {}): OciProcess {
  return {
    ...base,
    terminal: false,
    args,
    env: mergeEnv(base.env, extra.env ?? []),
    cwd: extra.cwd || base.cwd,
  };
}
