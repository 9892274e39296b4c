/**
 * Runs one plugin binary: CNI_* env appended after ours (the last value wins,
 * libcni pkg/invoke/args.go), the request config on stdin then EOF, a deadline
 * per call, and failures decoded into a CniPluginError.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { runProcess } from '../host/run-process.ts';

import { TsnerdError } from '../../domain/errors.ts';
import { decodePluginFailure, type CniVerb } from '../../domain/cni/plugin-error.ts';

export interface CniEnv {
  containerId: string;
  netns: string;
  ifName: string;
  args: string;
  path: string;
}

export interface PluginCall {
  pluginPath: string;
  pluginType: string;
  verb: CniVerb;
  env: CniEnv;
  stdin: string;
  timeoutMs: number;
  /**
   * The held CNI lock's descriptor, if any: the plugin gets a copy (as fd 3),
   * so the lock outlives a caller killed while the plugin runs and a rollback
   * waiting for the lock cannot run DEL before the plugin's ADD is over.
   */
  lockFd?: number | undefined;
  /** Receives a successful plugin's stderr (libcni forwards it to its own). */
  onStderr?: ((pluginType: string, text: string) => void) | undefined;
}

/** libcni retries "text file busy" 5 times, 1s apart (pkg/invoke/raw_exec.go). */
const TEXT_FILE_BUSY_RETRIES = 5;
const TEXT_FILE_BUSY_DELAY_MS = 1000;

/** Returns the plugin's stdout on success. */
export async function execPlugin(call: PluginCall): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    // Own process group, so the deadline also kills what the plugin started
    // (a leftover child would keep stdout open and the call hanging).
    const result = await runProcess(call.pluginPath, [], {
      input: call.stdin,
      env: {
        CNI_COMMAND: call.verb,
        CNI_CONTAINERID: call.env.containerId,
        CNI_NETNS: call.env.netns,
        CNI_IFNAME: call.env.ifName,
        CNI_ARGS: call.env.args,
        CNI_PATH: call.env.path,
      },
      detached: true,
      timeoutMs: call.timeoutMs,
      ...(call.lockFd === undefined ? {} : { inheritFds: [call.lockFd] }),
    });
    if (result.spawnError?.code === 'ETXTBSY' && attempt < TEXT_FILE_BUSY_RETRIES) {
      await sleep(TEXT_FILE_BUSY_DELAY_MS);
      continue;
    }
    if (result.timedOut) {
      throw new TsnerdError('timeout', `plugin "${call.pluginType}" timed out after ${call.timeoutMs}ms (${call.verb.toLowerCase()})`, {
        details: { pluginType: call.pluginType, verb: call.verb, stderr: result.stderr },
      });
    }
    if (result.spawnError) {
      // Spawning failed (EACCES, ENOEXEC, …): the plugin never ran.
      throw new TsnerdError(
        'precondition',
        `cannot run plugin "${call.pluginType}" at "${call.pluginPath}": ${result.spawnError.code ?? result.spawnError.message}`,
        {
          details: { pluginType: call.pluginType, verb: call.verb },
        },
      );
    }
    if (result.exitCode !== 0) {
      throw decodePluginFailure({
        pluginType: call.pluginType,
        verb: call.verb,
        stdout: result.stdout,
        stderr: result.stderr,
        exitCode: result.exitCode ?? undefined,
        signal: result.signal ?? undefined,
      });
    }
    if (result.stderr !== '') call.onStderr?.(call.pluginType, result.stderr);
    return result.stdout;
  }
}
