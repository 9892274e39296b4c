/** Parsers for the `-e` and `--label` values of `run`/`create`. */
import { usage } from './errors.ts';
import { LABEL_PREFIX, NERDCTL_LABEL_PREFIX } from './labels.ts';
import { assertNoControlCharacters, quote } from './text.ts';

/**
 * `KEY=VALUE` is taken as is; a bare `KEY` takes the value from the caller's
 * environment and is dropped when unset (Docker's behaviour).
 */
export function parseEnvFlags(values: readonly string[], hostEnv: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  for (const value of values) {
    const eq = value.indexOf('=');
    const key = eq < 0 ? value : value.slice(0, eq);
    if (key === '' || /\s/.test(key)) throw usage(`invalid environment variable ${quote(value)}`);
    assertNoControlCharacters('environment variable name', key);
    if (eq >= 0) out.push(value);
    else if (hostEnv[key] !== undefined) out.push(`${key}=${hostEnv[key]}`);
  }
  return out;
}

export function parseLabelFlags(values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const key = eq < 0 ? value : value.slice(0, eq);
    if (key === '') throw usage(`invalid label ${quote(value)}`);
    assertNoControlCharacters('label', value);
    if (isReservedLabelKey(key)) throw usage(`internal label ${quote(key)} must not be specified manually`);
    labels[key] = eq < 0 ? '' : value.slice(eq + 1);
  }
  return labels;
}

/** Keys under `tsnerd/` and `nerdctl/` carry meaning for the tools (networks, state dir, default network…). */
export function isReservedLabelKey(key: string): boolean {
  return key.startsWith(LABEL_PREFIX) || key.startsWith(NERDCTL_LABEL_PREFIX);
}
