/**
 * The subset of Go templates that `--format` needs for flat objects:
 * `{{.Field}}`, `{{.A.B}}`, `{{json .}}`, `{{json .Field}}` and literal text.
 * Anything else is refused rather than printed wrong.
 */
import { usage } from '../domain/errors.ts';
import { quote } from '../domain/text.ts';

const ACTION = /\{\{-?\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*-?\}\}/g;

export function renderGoTemplate(template: string, value: unknown): string {
  const leftover = template.replace(ACTION, '');
  if (leftover.includes('{{') || leftover.includes('}}')) throw usage(`unsupported format template ${quote(template)}`);
  return template.replace(ACTION, (_m, json: string | undefined, path: string) => {
    const v = path === '' ? value : path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], value);
    return json ? JSON.stringify(v ?? null) : goString(v);
  });
}

/** How Go's text/template prints a value. */
function goString(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `map[${entries.map(([k, x]) => `${k}:${goString(x)}`).join(' ')}]`;
  }
  return String(v);
}
