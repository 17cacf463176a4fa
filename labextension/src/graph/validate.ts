/**
 * Checks a graph document before anything draws it: a notebook from anywhere can carry any JSON under the
 * graph MIME type. The schema version, every field's type, the sizes (limits below) and every reference
 * between nodes (edges, root, scopes) are checked, and the edges must not form a cycle (a computation graph
 * never does). A document that fails gets a short `GraphDocError` message naming the field, never echoing its
 * value at length; names are only ever drawn as text, so no markup a document carries is ever parsed.
 */

import type { IGraphDoc } from './schema';

export const SCHEMA_VERSION = 1;
/** The kit caps its documents at 20,000 nodes (nnabla_nb.view.JSON_MAX_NODES) plus a truncation marker. */
export const MAX_NODES = 25_000;
export const MAX_EDGES = 100_000;
export const MAX_SCOPES = MAX_NODES;
/** Names, labels, scopes, types: longer strings are refused (a real parameter name is far shorter). */
export const MAX_STRING = 1_000;
/** A group node's `type` lists the function types of its scope: one per function. */
export const MAX_TYPES_STRING = 50_000;
/** A heatmap is a small PNG data-URI. */
export const MAX_HEATMAP = 200_000;
export const MAX_DIMS = 32;
/** Nesting of function argument values (tuples of tuples at most, in practice). */
export const MAX_ARG_DEPTH = 8;
export const MAX_ARG_ITEMS = 10_000;

const KINDS = new Set(['variable', 'parameter', 'function', 'group', 'truncated']);
const HIGHLIGHTS = new Set(['current', 'reached']);
const STAT_NUMBERS = ['min', 'mean', 'max', 'std'] as const;
const STAT_COUNTS = ['nan', 'inf', 'size'] as const;
const FLAG = /^[a-z_]{1,32}$/;
const HEATMAP = /^data:image\/png;base64,[A-Za-z0-9+/=]+$/;

/** A document refused: `message` says which field and why, in a few words. */
export class GraphDocError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphDocError';
  }
}

function fail(message: string): never {
  throw new GraphDocError(message);
}

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A short, printable quote of a user string for a message. */
export function quote(s: string): string {
  const cut = s.length > 40 ? s.slice(0, 39) + '\u2026' : s;
  return JSON.stringify(cut);
}

function text(x: unknown, where: string, limit = MAX_STRING): string {
  if (typeof x !== 'string') {
    fail(wrong(where, 'a string', x));
  }
  if (x.length > limit) {
    fail(`${where} is ${x.length} characters long (at most ${limit})`);
  }
  return x;
}

function optionalText(x: unknown, where: string, limit = MAX_STRING): void {
  if (x !== null && x !== undefined) {
    text(x, where, limit);
  }
}

function count(x: unknown, where: string): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) {
    fail(wrong(where, 'a whole number >= 0', x));
  }
  return x;
}

function bool(x: unknown, where: string): void {
  if (typeof x !== 'boolean') {
    fail(wrong(where, 'true or false', x));
  }
}

function array(x: unknown, where: string, limit: number): unknown[] {
  if (!Array.isArray(x)) {
    fail(wrong(where, 'an array', x));
  }
  if (x.length > limit) {
    fail(`${where} has ${x.length} entries (at most ${limit})`);
  }
  return x;
}

/** "`where` must be `what`, not a number", or "`where` is missing" when it is absent. */
function wrong(where: string, what: string, x: unknown): string {
  return x === undefined ? `${where} is missing (${what})` : `${where} must be ${what}, not ${kindOf(x)}`;
}

function kindOf(x: unknown): string {
  if (x === null) {
    return 'null';
  }
  if (Array.isArray(x)) {
    return 'an array';
  }
  return typeof x === 'object' ? 'an object' : `a ${typeof x}`;
}

function checkStats(x: unknown, where: string): void {
  if (x === null) {
    return;
  }
  if (!isObject(x)) {
    fail(wrong(where, 'an object or null', x));
  }
  for (const k of STAT_NUMBERS) {
    const v = x[k];
    if (typeof v !== 'number' && v !== 'nan' && v !== 'inf' && v !== '-inf') {
      fail(`${where}.${k} must be a number, "nan", "inf" or "-inf"`);
    }
  }
  for (const k of STAT_COUNTS) {
    count(x[k], `${where}.${k}`);
  }
}

/** Arguments are JSON values of bounded depth and size (their text is drawn with a length limit). */
function checkArgs(x: unknown, where: string): void {
  if (!isObject(x)) {
    fail(wrong(where, 'an object', x));
  }
  let items = 0;
  const walk = (v: unknown, depth: number): void => {
    if (++items > MAX_ARG_ITEMS) {
      fail(`${where} holds more than ${MAX_ARG_ITEMS} values`);
    }
    if (depth > MAX_ARG_DEPTH) {
      fail(`${where} is nested more than ${MAX_ARG_DEPTH} deep`);
    }
    if (typeof v === 'string') {
      text(v, `${where} value`);
    } else if (Array.isArray(v)) {
      v.forEach(e => walk(e, depth + 1));
    } else if (isObject(v)) {
      Object.entries(v).forEach(([k, e]) => {
        text(k, `${where} key`);
        walk(e, depth + 1);
      });
    } else if (v !== null && typeof v !== 'number' && typeof v !== 'boolean') {
      fail(`${where} holds ${kindOf(v)}`);
    }
  };
  Object.entries(x).forEach(([k, v]) => {
    text(k, `${where} key`);
    walk(v, 1);
  });
}

function checkNode(n: unknown, where: string): string {
  if (!isObject(n)) {
    fail(wrong(where, 'an object', n));
  }
  const id = text(n.id, `${where}.id`, 64);
  const kind = text(n.kind, `${where}.kind`, 32);
  if (!KINDS.has(kind)) {
    fail(`${where}.kind ${quote(kind)} is not one of ${[...KINDS].join(', ')}`);
  }
  text(n.label, `${where}.label`);
  text(n.name, `${where}.name`);
  text(n.scope, `${where}.scope`);
  optionalText(n.dtype, `${where}.dtype`);
  optionalText(n.type, `${where}.type`, kind === 'group' ? MAX_TYPES_STRING : MAX_STRING);
  if (n.shape !== null) {
    array(n.shape, `${where}.shape`, MAX_DIMS).forEach((d, i) => count(d, `${where}.shape[${i}]`));
  }
  checkArgs(n.args, `${where}.args`);
  bool(n.need_grad, `${where}.need_grad`);
  if (n.stats !== null) {
    if (!isObject(n.stats)) {
      fail(wrong(`${where}.stats`, 'an object or null', n.stats));
    }
    checkStats(n.stats.data ?? null, `${where}.stats.data`);
    checkStats(n.stats.grad ?? null, `${where}.stats.grad`);
  }
  array(n.grad_flags, `${where}.grad_flags`, 8).forEach((f, i) => {
    if (!FLAG.test(text(f, `${where}.grad_flags[${i}]`, 32))) {
      fail(`${where}.grad_flags[${i}] is not a flag name`);
    }
  });
  if (n.heatmap !== undefined && !HEATMAP.test(text(n.heatmap, `${where}.heatmap`, MAX_HEATMAP))) {
    fail(`${where}.heatmap must be a PNG data-URI`);
  }
  if (n.members !== undefined) {
    count(n.members, `${where}.members`);
  }
  if (n.highlight !== undefined && !HIGHLIGHTS.has(text(n.highlight, `${where}.highlight`, 32))) {
    fail(`${where}.highlight must be "current" or "reached"`);
  }
  if (n.grad_given !== undefined) {
    bool(n.grad_given, `${where}.grad_given`);
  }
  if (n.python_name !== undefined) {
    text(n.python_name, `${where}.python_name`);
  }
  return id;
}

/** Kahn's algorithm: true when some edges form a cycle. */
function hasCycle(ids: string[], edges: { source: string; target: string }[]): boolean {
  const indegree = new Map<string, number>(ids.map(id => [id, 0]));
  const succ = new Map<string, string[]>();
  for (const e of edges) {
    indegree.set(e.target, indegree.get(e.target)! + 1);
    const list = succ.get(e.source);
    if (list) {
      list.push(e.target);
    } else {
      succ.set(e.source, [e.target]);
    }
  }
  const ready = ids.filter(id => indegree.get(id) === 0);
  let seen = 0;
  while (ready.length) {
    const id = ready.pop()!;
    seen++;
    for (const m of succ.get(id) ?? []) {
      const d = indegree.get(m)! - 1;
      indegree.set(m, d);
      if (d === 0) {
        ready.push(m);
      }
    }
  }
  return seen !== ids.length;
}

const checked = new WeakSet<object>();

/** `data` as a graph document, or a `GraphDocError` saying what is wrong with it. */
export function validateDoc(data: unknown): IGraphDoc {
  if (isObject(data) && checked.has(data)) {
    return data as unknown as IGraphDoc;
  }
  if (!isObject(data)) {
    fail(`not an nnabla graph document (${kindOf(data)})`);
  }
  if (data.version !== SCHEMA_VERSION) {
    const v = data.version;
    const given = v === undefined ? '(none)' : typeof v === 'number' ? String(v) : kindOf(v);
    fail(`unsupported nnabla graph document version ${given} (this extension reads version ${SCHEMA_VERSION})`);
  }
  const nodes = array(data.nodes, 'nodes', MAX_NODES);
  const edges = array(data.edges, 'edges', MAX_EDGES);
  const ids = new Set<string>();
  nodes.forEach((n, i) => {
    const id = checkNode(n, `nodes[${i}]`);
    if (ids.has(id)) {
      fail(`nodes[${i}].id ${quote(id)} is used twice`);
    }
    ids.add(id);
  });
  edges.forEach((e, i) => {
    if (!isObject(e)) {
      fail(`edges[${i}] must be an object, not ${kindOf(e)}`);
    }
    for (const end of ['source', 'target'] as const) {
      const id = text(e[end], `edges[${i}].${end}`, 64);
      if (!ids.has(id)) {
        fail(`edges[${i}].${end} ${quote(id)} is no node of the graph`);
      }
    }
  });
  const root = text(data.root, 'root', 64);
  if (!ids.has(root)) {
    fail(`root ${quote(root)} is no node of the graph`);
  }
  array(data.scopes, 'scopes', MAX_SCOPES).forEach((s, i) => {
    if (!isObject(s)) {
      fail(`scopes[${i}] must be an object, not ${kindOf(s)}`);
    }
    text(s.name, `scopes[${i}].name`);
    array(s.nodes, `scopes[${i}].nodes`, MAX_NODES).forEach((id, j) => {
      if (!ids.has(text(id, `scopes[${i}].nodes[${j}]`, 64))) {
        fail(`scopes[${i}].nodes[${j}] ${quote(id as string)} is no node of the graph`);
      }
    });
  });
  if (!isObject(data.options)) {
    fail(wrong('options', 'an object', data.options));
  }
  bool(data.options.values, 'options.values');
  bool(data.options.grads, 'options.grads');
  count(data.hidden, 'hidden');
  if (data.static_view !== undefined) {
    const view = data.static_view;
    if (!isObject(view)) {
      fail(wrong('static_view', 'an object', view));
    }
    array(view.collapsed, 'static_view.collapsed', MAX_SCOPES).forEach((s, i) =>
      text(s, `static_view.collapsed[${i}]`)
    );
    if (view.max_nodes !== null) {
      count(view.max_nodes, 'static_view.max_nodes');
    }
    count(view.hidden, 'static_view.hidden');
  }
  if (hasCycle([...ids], edges as { source: string; target: string }[])) {
    fail('the edges form a cycle (a computation graph has none)');
  }
  checked.add(data);
  return data as unknown as IGraphDoc;
}
