/**
 * Test-only fault injection at named steps (the e2e fault suite,
 * test/e2e/faults/). TSNERD_FAULT=<step> makes this process SIGKILL itself when
 * it reaches <step>; TSNERD_FAULT=fail:<step> makes the step fail with an
 * error; TSNERD_FAULT=stop:<step> makes it SIGSTOP itself there (an operation
 * held in flight until the test sends SIGCONT). Unset, a fault point costs one comparison. The OCI hooks inherit the
 * CLI's environment, so the same variable reaches their steps (in the hook server: the request's
 * environment, and the server is what is killed or stopped; the hook client sends a request with
 * TSNERD_FAULT to the server only when TSNERD_HOOK_SERVER_FAULTS=1, else to a hook process of its own).
 * TSNERD_FAULT_ONCE=<file> makes the fault fire once: in the first process that creates the file.
 */
import { closeSync, openSync } from 'node:fs';
import { internal } from '../../domain/errors.ts';
import { requestEnv } from './request-env.ts';

export function faultPoint(step: string): void {
  const env = requestEnv();
  const fault = env['TSNERD_FAULT'];
  if (fault === undefined) return;
  // TSNERD_FAULT_ONCE=<file>: only the first process to reach a fault step fires it (it creates the file).
  const once = env['TSNERD_FAULT_ONCE'];
  if (once !== undefined && [step, `fail:${step}`, `stop:${step}`].includes(fault)) {
    try {
      closeSync(openSync(once, 'wx'));
    } catch {
      return;
    }
  }
  if (fault === step) process.kill(process.pid, 'SIGKILL');
  if (fault === `fail:${step}`) throw internal(`injected fault at ${step}`);
  if (fault === `stop:${step}`) process.kill(process.pid, 'SIGSTOP');
}
