/**
 * A user's value inside a one-line message, and the check that keeps control
 * characters out of every value that ends up in a file (resolv.conf, hosts,
 * hostname, conflists, the store).
 */
import { invalid } from './errors.ts';

/** Longest value shown in full; longer ones show their first and last characters and their length. */
const SHOWN = 120;
const HEAD = 60;
const TAIL = 40;

// C0 controls, DEL, C1 controls and the two Unicode line separators: each of
// them can break a line-oriented file or hide part of a message.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROL_OR_QUOTE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029"\\]/g;
const CONTROL_ONLY = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' };

/**
 * `"value"` with control characters, quotes and backslashes escaped (`\n`,
 * `\x00`, `\u2028`), as Go's %q does; a value longer than 120 characters is
 * shortened to its start, `…`, its end and its length.
 */
export function quote(value: string): string {
  const chars = [...value];
  if (chars.length <= SHOWN) return `"${escape(value)}"`;
  // Its start and its end: a path's last components are what tell it apart.
  return `"${escape(chars.slice(0, HEAD).join(''))}…${escape(chars.slice(-TAIL).join(''))}" (${chars.length} characters)`;
}

function escape(text: string): string {
  return text.replace(CONTROL_OR_QUOTE, (c) => ESCAPES[c] ?? escapeCode(c.charCodeAt(0)));
}

function escapeCode(code: number): string {
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

export function hasControlCharacter(value: string): boolean {
  return CONTROL.test(value);
}

/**
 * Refuses a value with a control character: `invalid <what> "<value>": contains
 * a control character`. `what` names the flag or field, e.g. `--dns-search`.
 */
export function assertNoControlCharacters(what: string, value: string): void {
  if (hasControlCharacter(value)) throw invalid(`invalid ${what} ${quote(value)}: contains a control character`);
}

/**
 * A message on one line: its lines joined with spaces (oclif and plugins
 * write several), any other control character escaped. The last guard before
 * stderr: "exactly one line" holds whatever an error's text is.
 */
export function oneLine(message: string): string {
  const joined = message
    .split(/\r?\n|\r|\u2028|\u2029/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
  return joined.replace(CONTROL_ONLY, (c) => ESCAPES[c] ?? escapeCode(c.charCodeAt(0)));
}
