/**
 * Visible graph -> the lines each node shows, and DOT source for Graphviz to lay out.
 *
 * DOT only sizes and places things: the drawing is built from the layout with DOM APIs and the original
 * strings, so a label never becomes markup. Node ids in DOT are indices ("v0", "v1", ...), never kernel
 * strings.
 */

import { IVisibleGraph, IVisibleNode } from './fold';
import { formatArgs, formatNumber, formatShape, IGraphNode, IStats } from './schema';

function statsLine(prefix: string, s: IStats): string {
  return `${prefix} ${formatNumber(s.min)} .. ${formatNumber(s.max)}  mean ${formatNumber(s.mean)}`;
}

/** What a student calls a node: its Python name, parameter or Variable name, else a short description. */
export function displayName(n: IGraphNode, isRoot: boolean): string {
  if (n.python_name) {
    return n.python_name;
  }
  if (n.kind === 'function') {
    return n.type ?? n.label;
  }
  return n.name || n.label || (isRoot ? 'output' : n.id);
}

/** The text lines drawn inside a node (the same rows as the kit's static drawing). */
export function nodeLines(v: IVisibleNode, isRoot: boolean, values = true): string[] {
  if (v.group) {
    const tail = v.group.scope.split('/').pop() ?? v.group.scope;
    const rows = [`\u25B8 ${tail}`, `${v.group.members.length} nodes`];
    if (v.group.summary) {
      rows.push(v.group.summary.length > 40 ? v.group.summary.slice(0, 39) + '\u2026' : v.group.summary);
    }
    return rows;
  }
  const n = v.node!;
  if (n.kind === 'function') {
    const args = formatArgs(n.args);
    return args ? [n.label, args] : [n.label];
  }
  if (n.kind === 'group') {
    return [n.name, `${n.members ?? 0} nodes: ${n.type ?? ''}`.slice(0, 60)];
  }
  if (n.kind === 'truncated') {
    return [n.label];
  }
  const rows: string[] = [];
  const title = n.python_name || n.label || (isRoot ? 'output' : '');
  if (title) {
    rows.push(title);
  }
  rows.push(`${formatShape(n.shape)} ${n.dtype ?? ''}`.trim());
  if (values && n.stats?.data) {
    rows.push(statsLine('data', n.stats.data));
  }
  if (n.stats?.grad) {
    rows.push(statsLine(n.grad_given ? 'grad (given)' : 'grad', n.stats.grad));
  }
  if (n.grad_flags.length) {
    rows.push('grad: ' + n.grad_flags.join(', '));
  }
  return rows;
}

/** A DOT double-quoted string for arbitrary text: quotes and backslashes escaped, line breaks flattened. */
export function dotString(text: string): string {
  return '"' + text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/[\r\n\t\u0000-\u001f]/g, ' ') + '"';
}

/** Several lines as one DOT label (DOT's `\n` is a centered line break). */
export function dotLabel(lines: string[]): string {
  return '"' + lines.map(l => dotString(l).slice(1, -1)).join('\\n') + '"';
}

const SHAPES: Record<string, string> = {
  variable: 'ellipse',
  parameter: 'ellipse',
  function: 'box',
  group: 'box',
  truncated: 'box'
};

export interface IDotGraph {
  source: string;
  /** DOT node name -> visible node id, and back. */
  idOf: Map<string, string>;
  nameOf: Map<string, string>;
  /** DOT cluster name -> scope. */
  scopeOfCluster: Map<string, string>;
  lines: Map<string, string[]>;
}

export interface IDotOptions {
  /** Straight edges: much faster on graphs of thousands of nodes. */
  straightEdges?: boolean;
  /**
   * Width in CSS px of a line as the browser draws it (bold: a node's first line). Given, every node gets a
   * fixed size from it, so labels fit the boxes in the font actually drawn; without it Graphviz estimates.
   */
  measure?: (text: string, bold: boolean) => number;
  /** Draw data statistics on nodes (the document's `options.values`; parameters carry them for details). */
  values?: boolean;
}

/** Line height and padding of node text (CSS px), shared with draw.ts. */
export const NODE_LINE_PX = 13;
const NODE_PAD_X = 8;
const NODE_PAD_Y = 5;

/** A node's size (inches, as DOT wants) for its lines: boxes pad the text, ellipses enclose its box. */
export function nodeSize(rows: string[], ellipse: boolean, measure: (text: string, bold: boolean) => number) {
  const text = Math.max(8, ...rows.map((r, i) => measure(r, i === 0)));
  let w = text + 2 * NODE_PAD_X;
  let h = rows.length * NODE_LINE_PX + 2 * NODE_PAD_Y;
  if (ellipse) {
    // a w x h box fits in an ellipse of 1.25 w x 1.67 h: (1/1.25)^2 + (1/1.67)^2 <= 1
    w *= 1.25;
    h *= 1.67;
  }
  return { width: Math.max(w, 36) / 72, height: Math.max(h, 22) / 72 };
}

export function toDot(view: IVisibleGraph, options: IDotOptions = {}): IDotGraph {
  const idOf = new Map<string, string>();
  const nameOf = new Map<string, string>();
  const scopeOfCluster = new Map<string, string>();
  const clusterName = new Map<string, string>();
  const lines = new Map<string, string[]>();
  view.clusters.forEach((scope, i) => {
    clusterName.set(scope, `cluster_${i}`);
    scopeOfCluster.set(`cluster_${i}`, scope);
  });

  const inCluster = new Map<string, string[]>(); // scope ('' = top) -> DOT statements
  const children = new Map<string, string[]>(); // scope -> child cluster scopes
  for (const scope of view.clusters) {
    const i = scope.lastIndexOf('/');
    const parent = i < 0 ? '' : scope.slice(0, i);
    (children.get(parent) ?? children.set(parent, []).get(parent)!).push(scope);
  }
  view.nodes.forEach((v, i) => {
    const name = `v${i}`;
    idOf.set(name, v.id);
    nameOf.set(v.id, name);
    const rows = nodeLines(v, v.id === view.root, options.values !== false);
    lines.set(v.id, rows);
    const shape = SHAPES[v.kind] ?? 'box';
    let size = '';
    if (options.measure) {
      const { width, height } = nodeSize(rows, shape === 'ellipse', options.measure);
      size = `, width=${width.toFixed(3)}, height=${height.toFixed(3)}, fixedsize=true`;
    }
    // the data flow in one group, parameters beside it: Graphviz keeps the flow a straight column (as the
    // kit's static SVG does) instead of a diagonal staircase of layers
    const group = v.kind === 'parameter' ? '' : ', group=flow';
    const stmt = `${name} [label=${dotLabel(rows)}, shape=${shape}${size}${group}];`;
    (inCluster.get(v.cluster) ?? inCluster.set(v.cluster, []).get(v.cluster)!).push(stmt);
  });

  const out: string[] = [
    'digraph nnabla {',
    `graph [rankdir=TB, nodesep=0.25, ranksep=0.3, fontname="Helvetica", fontsize=10${
      options.straightEdges ? ', splines=line' : ''
    }];`,
    'node [fontname="Helvetica", fontsize=11, margin="0.08,0.04", height=0.3];',
    'edge [arrowsize=0.6];'
  ];
  const emit = (scope: string, indent: string): void => {
    for (const child of children.get(scope) ?? []) {
      const label = child.slice(scope ? scope.length + 1 : 0);
      out.push(`${indent}subgraph ${clusterName.get(child)} {`);
      out.push(`${indent}  label=${dotString(label)}; labeljust=l; fontsize=11; margin=8;`);
      emit(child, indent + '  ');
      out.push(`${indent}}`);
    }
    for (const stmt of inCluster.get(scope) ?? []) {
      out.push(indent + stmt);
    }
  };
  emit('', '');
  for (const e of view.edges) {
    out.push(`${nameOf.get(e.source)} -> ${nameOf.get(e.target)};`);
  }
  out.push('}');
  return { source: out.join('\n'), idOf, nameOf, scopeOfCluster, lines };
}
