/**
 * Go's text/template for `--format`, over the JSON-shaped objects tsnerd prints: what
 * nerdctl and Docker users write (docker/cli's templates.Parse). Actions `{{.A.B}}`, `{{.}}`,
 * `{{$}}`, `{{$v.F}}`, pipelines `a | b`, `( … ).F`; `if`/`else if`/`else`, `range` (with
 * `$i, $v :=`, maps in key order, `else`), `with`, `$x := …`, comments, `{{-`/`-}}`;
 * Go's functions `and or not len index eq ne lt le gt ge print printf println` and Docker's
 * `json join split lower upper title pad truncate`. A missing key prints `<no value>`, as
 * with a Go map. Not supported (a usage error): `define`/`template`/`block`, `break`/`continue`.
 * No library does this: the npm ones (e.g. @ctrl/golang-template) lack `json`, variables,
 * `eq`, `len`, `printf` and custom functions.
 */
import { invalid, usage } from '../domain/errors.ts';
import { quote } from '../domain/text.ts';
import { formatTable } from './table.ts';

export function renderGoTemplate(template: string, value: unknown): string {
  return compileGoTemplate(template)(value);
}

/**
 * The text of an `inspect`'s results, as nerdctl's and Docker's: without a format a JSON
 * array indented by 4; with one, the template once per object, a line each (`json` is
 * `{{json .}}`); `raw`, `table` and `wide` are refused. Checked before anything is looked up.
 */
export function inspectFormatter(format: string | undefined): (values: readonly unknown[]) => string[] {
  if (format === undefined || format === '') return (values) => (values.length === 0 ? [] : [JSON.stringify(values, null, 4)]);
  if (format === 'raw' || format === 'table' || format === 'wide') throw usage(`unsupported format: ${quote(format)}`);
  const render = compileGoTemplate(format === 'json' ? '{{json .}}' : format);
  return (values) => values.map(render);
}

/** Parses once (a usage error names what is wrong); the result renders one value (an error while rendering: exit 1). */
export function compileGoTemplate(template: string): (value: unknown) => string {
  let nodes: Node[];
  try {
    nodes = new Parser(template).parseAll();
  } catch (err) {
    if (err instanceof TemplateError) throw usage(`template parsing error: ${err.message} in ${quote(template)}`);
    throw err;
  }
  return (value) => {
    const out: string[] = [];
    try {
      new Exec(value, out).nodes(nodes, [new Map([['$', value]])]);
    } catch (err) {
      if (err instanceof TemplateError) throw invalid(`template: executing ${quote(template)}: ${err.message}`);
      throw err;
    }
    return out.join('');
  };
}

class TemplateError extends Error {}
function fail(message: string): never {
  throw new TemplateError(message);
}

// ---- syntax ----------------------------------------------------------------

type Operand =
  | { k: 'dot'; chain: string[] }
  | { k: 'var'; name: string; chain: string[] }
  | { k: 'lit'; v: unknown }
  | { k: 'fn'; name: string }
  | { k: 'sub'; pipe: Pipe; chain: string[] };
interface Pipe {
  decl: string[];
  cmds: Operand[][];
}
type Node =
  | { k: 'text'; s: string }
  | { k: 'print'; pipe: Pipe }
  | { k: 'if' | 'with'; pipe: Pipe; then: Node[]; else: Node[] }
  | { k: 'range'; pipe: Pipe; body: Node[]; else: Node[] };

type Token = { t: 'op'; v: string } | { t: 'str'; v: string } | { t: 'num'; v: number } | { t: 'word'; v: string };

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

/** The tokens of one action's text (between `{{` and `}}`, trim markers removed). */
function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const ident = /[A-Za-z0-9_]/;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) fail('unterminated quoted string');
      try {
        out.push({ t: 'str', v: JSON.parse(src.slice(i, j + 1)) as string });
      } catch {
        fail(`bad string ${src.slice(i, j + 1)}`);
      }
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) fail('unterminated raw quoted string');
      out.push({ t: 'str', v: src.slice(i + 1, j) });
      i = j + 1;
    } else if (c === ':' && src[i + 1] === '=') {
      out.push({ t: 'op', v: ':=' });
      i += 2;
    } else if ('()|=,'.includes(c)) {
      out.push({ t: 'op', v: c });
      i++;
    } else if (/[-+0-9]/.test(c) && /[0-9]/.test(src[c === '-' || c === '+' ? i + 1 : i] ?? '')) {
      let j = i + 1;
      while (j < src.length && /[0-9.eExXa-fA-F_]/.test(src[j]!)) j++;
      const n = Number(src.slice(i, j).replaceAll('_', ''));
      if (Number.isNaN(n)) fail(`bad number syntax: ${src.slice(i, j)}`);
      out.push({ t: 'num', v: n });
      i = j;
    } else if (c === '.' || c === '$' || ident.test(c)) {
      // a word: `.`, `.A.B`, `$`, `$x.A`, `name`; a field chain may follow `)` too (`(…).A`)
      let j = i + 1;
      while (j < src.length && (ident.test(src[j]!) || src[j] === '.')) j++;
      out.push({ t: 'word', v: src.slice(i, j) });
      i = j;
    } else fail(`unexpected ${JSON.stringify(c)} in command`);
  }
  return out;
}

function fieldChain(word: string): string[] {
  const parts = word.split('.');
  if (parts.some((p) => p === '')) fail(`bad field ${word}`);
  return parts;
}

class Parser {
  private readonly actions: Array<{ text: string } | { action: Token[] }> = [];
  private pos = 0;

  constructor(src: string) {
    let i = 0;
    let trimNext = false;
    while (i < src.length) {
      const open = src.indexOf('{{', i);
      let text = src.slice(i, open < 0 ? src.length : open);
      if (trimNext) text = text.replace(/^\s+/, '');
      if (open < 0) {
        this.pushText(text);
        break;
      }
      let body = src.slice(open + 2);
      const trimLeft = /^-\s/.test(body);
      if (trimLeft) text = text.replace(/\s+$/, '');
      this.pushText(text);
      const close = findClose(body);
      if (close < 0) fail('unclosed action');
      const rest = body.slice(close + 2);
      body = body.slice(trimLeft ? 2 : 0, close);
      trimNext = /\s-$/.test(body);
      if (trimNext) body = body.slice(0, -2);
      if (/^\s*\/\*[\s\S]*\*\/\s*$/.test(body)) {
        i = src.length - rest.length;
        continue;
      }
      this.actions.push({ action: tokenize(body) });
      i = src.length - rest.length;
    }
  }

  private pushText(text: string): void {
    if (text !== '') this.actions.push({ text });
  }

  parseAll(): Node[] {
    const [nodes, end] = this.list();
    if (end !== undefined) fail(`unexpected {{${end}}}`);
    return nodes;
  }

  /** Nodes up to an `end` or `else` (returned with what followed `else`), or the input's end. */
  private list(): [Node[], string | undefined, Token[]] {
    const nodes: Node[] = [];
    while (this.pos < this.actions.length) {
      const a = this.actions[this.pos++]!;
      if ('text' in a) {
        nodes.push({ k: 'text', s: a.text });
        continue;
      }
      const toks = a.action;
      const head = toks[0];
      if (head === undefined) fail('missing value for command');
      const kw = head.t === 'word' && KEYWORDS.has(head.v) ? head.v : undefined;
      if (kw === 'end' || kw === 'else') return [nodes, kw, toks.slice(1)];
      if (kw === 'if' || kw === 'with' || kw === 'range') nodes.push(this.block(kw, toks.slice(1)));
      else if (kw !== undefined) fail(`{{${kw}}} is not supported`);
      else nodes.push({ k: 'print', pipe: pipeline(toks) });
    }
    return [nodes, undefined, []];
  }

  private block(kw: 'if' | 'with' | 'range', toks: Token[]): Node {
    const pipe = pipeline(toks, kw === 'range' ? 2 : 1);
    const [body, end, after] = this.list();
    let elseNodes: Node[] = [];
    if (end === undefined) fail(`unexpected EOF in {{${kw}}}`);
    if (end === 'else') {
      const chained = after[0];
      if (chained !== undefined) {
        // `else if …` / `else with …`: the rest of the chain, which shares the `end`
        if (chained.t !== 'word' || (chained.v !== 'if' && chained.v !== 'with')) fail('unexpected token after else');
        elseNodes = [this.block(chained.v as 'if' | 'with', after.slice(1))];
      } else {
        const [rest, end2] = this.list();
        if (end2 !== 'end') fail(`expected {{end}} in {{${kw}}}`);
        elseNodes = rest;
      }
    }
    return kw === 'range' ? { k: 'range', pipe, body, else: elseNodes } : { k: kw, pipe, then: body, else: elseNodes };
  }
}

/** Index of the `}}` closing an action, skipping quoted strings. */
function findClose(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') i += s[i] === '\\' ? 2 : 1;
    } else if (c === '`') i = s.indexOf('`', i + 1) < 0 ? s.length : s.indexOf('`', i + 1);
    else if (c === '}' && s[i + 1] === '}') return i;
  }
  return -1;
}

/** `[$a[, $b] :=|=] cmd | cmd …`; `maxDecl` variables at most. */
function pipeline(toks: Token[], maxDecl = 1): Pipe {
  const decl: string[] = [];
  const assign = toks.findIndex((t) => t.t === 'op' && (t.v === ':=' || t.v === '='));
  if (assign >= 0 && toks.slice(0, assign).every((t) => (t.t === 'word' && t.v.startsWith('$')) || (t.t === 'op' && t.v === ','))) {
    for (const t of toks.slice(0, assign)) if (t.t === 'word') decl.push(t.v);
    if (decl.length === 0 || decl.length > maxDecl) fail('too many declarations');
    toks = toks.slice(assign + 1);
  }
  const cmds: Operand[][] = [];
  let cur: Operand[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.t === 'op' && t.v === '|') {
      if (cur.length === 0) fail('missing command before |');
      cmds.push(cur);
      cur = [];
    } else if (t.t === 'op' && t.v === '(') {
      let depth = 1;
      let j = i + 1;
      for (; j < toks.length && depth > 0; j++) {
        const u = toks[j]!;
        if (u.t === 'op' && u.v === '(') depth++;
        if (u.t === 'op' && u.v === ')') depth--;
      }
      if (depth > 0) fail('unclosed left paren');
      const inner = pipeline(toks.slice(i + 1, j - 1));
      const next = toks[j];
      let chain: string[] = [];
      if (next?.t === 'word' && next.v.startsWith('.') && next.v !== '.') {
        chain = fieldChain(next.v.slice(1));
        j++;
      }
      cur.push({ k: 'sub', pipe: inner, chain });
      i = j - 1;
    } else cur.push(operand(t));
  }
  if (cur.length === 0) fail('missing value for command');
  cmds.push(cur);
  return { decl, cmds };
}

function operand(t: Token): Operand {
  if (t.t === 'str' || t.t === 'num') return { k: 'lit', v: t.v };
  if (t.t === 'op') return fail(`unexpected ${JSON.stringify(t.v)} in operand`);
  const w = t.v;
  if (w === '.') return { k: 'dot', chain: [] };
  if (w.startsWith('.')) return { k: 'dot', chain: fieldChain(w.slice(1)) };
  if (w.startsWith('$')) {
    const [name, ...chain] = w.split('.');
    if (chain.some((p) => p === '')) fail(`bad variable ${w}`);
    return { k: 'var', name: name!, chain };
  }
  if (w === 'true' || w === 'false') return { k: 'lit', v: w === 'true' };
  if (w === 'nil') return { k: 'lit', v: null };
  if (KEYWORDS.has(w)) fail(`unexpected keyword ${w}`);
  if (!Object.hasOwn(FUNCS, w)) fail(`function ${JSON.stringify(w)} not defined`);
  return { k: 'fn', name: w };
}

// ---- execution -------------------------------------------------------------

type Scope = Array<Map<string, unknown>>;

class Exec {
  private readonly dot0: unknown;
  private readonly out: string[];

  constructor(dot0: unknown, out: string[]) {
    this.dot0 = dot0;
    this.out = out;
  }

  nodes(list: Node[], scope: Scope, dot: unknown = this.dot0): void {
    for (const n of list) this.node(n, scope, dot);
  }

  private node(n: Node, scope: Scope, dot: unknown): void {
    switch (n.k) {
      case 'text':
        this.out.push(n.s);
        return;
      case 'print': {
        const v = this.pipe(n.pipe, scope, dot);
        if (n.pipe.decl.length === 0) this.out.push(goString(v));
        return;
      }
      case 'if':
      case 'with': {
        const inner: Scope = [...scope, new Map()];
        const v = this.pipe(n.pipe, inner, dot);
        if (truthy(v)) this.nodes(n.then, inner, n.k === 'with' ? v : dot);
        else this.nodes(n.else, inner, dot);
        return;
      }
      case 'range': {
        const inner: Scope = [...scope, new Map()];
        const decl = n.pipe.decl;
        const v = this.pipe({ decl: [], cmds: n.pipe.cmds }, inner, dot);
        const items: Array<[unknown, unknown]> = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : isObject(v)
            ? Object.keys(v)
                .sort()
                .map((k) => [k, v[k]])
            : v === null || v === undefined
              ? []
              : fail(`range can't iterate over ${goString(v)}`);
        if (items.length === 0) return this.nodes(n.else, inner, dot);
        for (const [k, x] of items) {
          const iter = new Map<string, unknown>();
          if (decl.length === 1) iter.set(decl[0]!, x);
          if (decl.length === 2) iter.set(decl[0]!, k).set(decl[1]!, x);
          this.nodes(n.body, [...inner, iter], x);
        }
        return;
      }
    }
  }

  private pipe(p: Pipe, scope: Scope, dot: unknown): unknown {
    let piped: { v: unknown } | undefined;
    for (const cmd of p.cmds) piped = { v: this.command(cmd, scope, dot, piped) };
    const v = piped!.v;
    if (p.decl.length === 1) {
      const name = p.decl[0]!;
      const owner = [...scope].reverse().find((m) => m.has(name));
      (owner ?? scope[scope.length - 1]!).set(name, v);
    }
    return v;
  }

  private command(cmd: Operand[], scope: Scope, dot: unknown, piped: { v: unknown } | undefined): unknown {
    const head = cmd[0]!;
    if (head.k === 'fn') {
      const args = cmd.slice(1).map((o) => this.operand(o, scope, dot));
      if (piped) args.push(piped.v);
      return FUNCS[head.name]!(...args);
    }
    if (cmd.length > 1) fail(`can't give argument to non-function`);
    if (piped) fail(`can't give argument to non-function`);
    return this.operand(head, scope, dot);
  }

  private operand(o: Operand, scope: Scope, dot: unknown): unknown {
    switch (o.k) {
      case 'lit':
        return o.v;
      case 'dot':
        return field(dot, o.chain);
      case 'var': {
        const m = [...scope].reverse().find((s) => s.has(o.name));
        if (!m) fail(`undefined variable: ${o.name}`);
        return field(m.get(o.name), o.chain);
      }
      case 'sub':
        return field(this.pipe(o.pipe, scope, dot), o.chain);
      case 'fn':
        return FUNCS[o.name]!();
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(v: unknown, chain: readonly string[]): unknown {
  let cur = v;
  for (const k of chain) {
    if (cur === undefined || cur === null) return undefined;
    if (!isObject(cur)) fail(`can't evaluate field ${k} in ${goString(cur)}`);
    cur = Object.hasOwn(cur as object, k) ? (cur as Record<string, unknown>)[k] : undefined;
  }
  return cur;
}

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

/** How Go's fmt prints a value (`%v`); a missing value is `<no value>`. */
function goString(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goString(v[k])}`).join(' ')}]`;
  }
  return String(v);
}

const str = (v: unknown): string => (typeof v === 'string' ? v : goString(v));

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return fail(`incompatible types for comparison`);
}

function printf(format: unknown, ...args: unknown[]): string {
  let i = 0;
  return str(format).replace(
    /%([-+# 0]*)(\d*)(?:\.(\d+))?([vsdqtfx%])/g,
    (_m, flags: string, width: string, prec: string, verb: string) => {
      if (verb === '%') return '%';
      const a = args[i++];
      let s: string;
      if (verb === 'q') s = JSON.stringify(str(a));
      else if (verb === 'd') s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${goString(a)})`;
      else if (verb === 'f') s = typeof a === 'number' ? a.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${goString(a)})`;
      else if (verb === 'x') s = typeof a === 'number' ? a.toString(16) : Buffer.from(str(a)).toString('hex');
      else s = a === undefined || a === null ? '<nil>' : str(a);
      const w = Number(width || 0);
      return flags.includes('-') ? s.padEnd(w) : s.padStart(w, flags.includes('0') && verb !== 's' ? '0' : ' ');
    },
  );
}

const FUNCS: Record<string, (...a: unknown[]) => unknown> = {
  and: (...a) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
  or: (...a) => a.find(truthy) ?? a[a.length - 1],
  not: (a) => !truthy(a),
  len: (a) => (typeof a === 'string' || Array.isArray(a) ? a.length : isObject(a) ? Object.keys(a).length : fail(`len of ${goString(a)}`)),
  index: (a, ...keys) =>
    keys.reduce<unknown>((cur, k) => {
      if (Array.isArray(cur)) {
        if (typeof k !== 'number' || k < 0 || k >= cur.length) fail(`index out of range: ${goString(k)}`);
        return cur[k as number];
      }
      if (isObject(cur)) return Object.hasOwn(cur, str(k)) ? cur[str(k)] : undefined;
      if (cur === undefined || cur === null) return fail('index of untyped nil');
      return fail(`can't index item of type ${typeof cur}`);
    }, a),
  eq: (a, ...b) => (b.length === 0 ? fail('missing argument for comparison') : b.some((x) => x === a)),
  ne: (a, b) => a !== b,
  lt: (a, b) => compare(a, b) < 0,
  le: (a, b) => compare(a, b) <= 0,
  gt: (a, b) => compare(a, b) > 0,
  ge: (a, b) => compare(a, b) >= 0,
  print: (...a) => a.map(str).join(''),
  println: (...a) => `${a.map(str).join(' ')}\n`,
  printf,
  // docker/cli templates' functions
  json: (a) => JSON.stringify(a ?? null),
  join: (a, sep) => (Array.isArray(a) ? a.map(str).join(str(sep)) : fail('join needs a list')),
  split: (a, sep) => str(a).split(str(sep)),
  lower: (a) => str(a).toLowerCase(),
  upper: (a) => str(a).toUpperCase(),
  title: (a) => str(a).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, p: string, c: string) => p + c.toUpperCase()),
  pad: (a, before, after) => ' '.repeat(Number(before)) + str(a) + ' '.repeat(Number(after)),
  truncate: (a, n) => [...str(a)].slice(0, Number(n)).join(''),
};

/**
 * `--format` of a list command (`network ls`, `ps`): a template per row, as docker/cli's
 * formatter runs it: `\t` and `\n` written in the template are a tab and a newline, and
 * `table TEMPLATE` prints a header row (the template over `headers`, a column title per
 * field) and aligns the tab-separated columns. `json` is `{{json .}}`.
 */
export function renderListFormat(format: string, rows: readonly unknown[], headers: Readonly<Record<string, string>>): string[] {
  const table = /^table(\s|$)/.test(format);
  const text = (table ? format.slice('table'.length) : format === 'json' ? '{{json .}}' : format)
    .trim()
    .replaceAll('\\t', '\t')
    .replaceAll('\\n', '\n');
  const render = compileGoTemplate(
    text === ''
      ? Object.keys(headers)
          .map((k) => `{{.${k}}}`)
          .join('\t')
      : text,
  );
  if (!table) return rows.map(render);
  const cells = (line: string) => line.split('\t');
  const lines = [render(headers), ...rows.map(render)].map(cells);
  return [formatTable(lines[0]!, lines.slice(1), 3)];
}
