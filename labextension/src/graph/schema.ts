/**
 * The `application/vnd.nnabla.graph+json` document written by the kit (nnabla_nb/render/json.py).
 * JSON has no NaN/Inf: the kit writes those statistics as the strings "nan", "inf", "-inf".
 */

export const MIME_TYPE = 'application/vnd.nnabla.graph+json';

export type NodeKind = 'variable' | 'parameter' | 'function' | 'group' | 'truncated';
export type JsonNumber = number | 'nan' | 'inf' | '-inf';

export interface IStats {
  min: JsonNumber;
  mean: JsonNumber;
  max: JsonNumber;
  std: JsonNumber;
  nan: number;
  inf: number;
  size: number;
}

export interface IGraphNode {
  id: string;
  kind: NodeKind;
  label: string;
  name: string;
  shape: number[] | null;
  dtype: string | null;
  scope: string;
  type: string | null;
  args: Record<string, unknown>;
  need_grad: boolean;
  stats: { data: IStats | null; grad: IStats | null } | null;
  grad_flags: string[];
  /** PNG data-URI of a small 1-D/2-D parameter (only with values=True). */
  heatmap?: string;
  /** group / truncated: how many nodes it stands for. */
  members?: number;
  /** Only in backward-step frames: 'current' (this step's function) or 'reached' (holds a gradient). */
  highlight?: string;
  /** An output's gradient set by the user (backward never computes an output's gradient). */
  grad_given?: boolean;
  /** The name the notebook bound this Variable to (`x`, `loss`), when it has one. */
  python_name?: string;
}

/** What the bundle's static forms (SVG, HTML, text) draw; the document itself always holds the whole graph. */
export interface IStaticView {
  /** Scopes the static picture draws as one group node. */
  collapsed: string[];
  max_nodes: number | null;
  /** Nodes the static picture leaves out. */
  hidden: number;
}

/** A function card (nnabla_nb/cards/): `forward` and `gradient` are LaTeX, to be shown as text or typeset. */
export interface ICard {
  name: string;
  meaning: string;
  forward: string;
  gradient: string;
}

export interface IGraphDoc {
  version: number;
  root: string;
  nodes: IGraphNode[];
  edges: { source: string; target: string }[];
  scopes: { name: string; nodes: string[] }[];
  options: { values: boolean; grads: boolean };
  /** Nodes this document leaves out (the kit's safety cap; then a 'truncated' node stands for them). */
  hidden: number;
  /** The static picture's folding choice: the renderer opens folded the same way (fold.ts `initialFolded`). */
  static_view?: IStaticView;
  /** One card per function type in `nodes` (absent in documents of older kits). */
  cards?: Record<string, ICard>;
}

/** A kit statistic as a JS number (the strings become NaN / ±Infinity). */
export function toNumber(x: JsonNumber | null | undefined): number {
  if (typeof x === 'number') {
    return x;
  }
  if (x === 'inf') {
    return Infinity;
  }
  if (x === '-inf') {
    return -Infinity;
  }
  return NaN;
}

/** Short, stable text for a number: 4 significant digits, nan/inf spelled out. */
export function formatNumber(x: JsonNumber | null | undefined): string {
  const v = toNumber(x);
  if (Number.isNaN(v)) {
    return 'nan';
  }
  if (!Number.isFinite(v)) {
    return v > 0 ? 'inf' : '-inf';
  }
  if (v === 0 || (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5)) {
    return String(Number(v.toPrecision(4)));
  }
  return v.toExponential(2);
}

export function formatShape(shape: number[] | null): string {
  if (!shape) {
    return '';
  }
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** An argument value as the student wrote it in Python: `True`, `None`, `[2, 2]`, `'mean'`. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) {
    return 'None';
  }
  if (typeof v === 'boolean') {
    return v ? 'True' : 'False';
  }
  if (Array.isArray(v)) {
    return `[${v.map(formatValue).join(', ')}]`;
  }
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `'${k}': ${formatValue(x)}`)
      .join(', ')}}`;
  }
  return String(v);
}

/** Function arguments as one line `k=v, ...`, cut to `limit` characters. */
export function formatArgs(args: Record<string, unknown>, limit = 40): string {
  const text = Object.entries(args)
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(', ');
  return text.length > limit ? text.slice(0, limit - 1) + '\u2026' : text;
}

/** The document in `data`, checked in full (validate.ts); a `GraphDocError` says what is wrong otherwise. */
export { validateDoc as checkDoc, GraphDocError } from './validate';
