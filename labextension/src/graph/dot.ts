/**
 * Visible graph -> the lines each node shows, and DOT source for Graphviz to lay out.
 *
 * DOT only sizes and places things: the drawing is built from the layout with DOM APIs and the original
 * strings, so a label never becomes markup. Node ids in DOT are indices ("v0", "v1", ...), never kernel
 * strings.
 */

import { IVisibleGraph, IVisibleNode } from './fold';
import { formatArgs, formatNumber, formatShape, IStats } from './schema';

function statsLine(prefix: string, s: IStats): string {
  return `${prefix} ${formatNumber(s.min)} .. ${formatNumber(s.max)}  mean ${formatNumber(s.mean)}`;
}

/** The text lines drawn inside a node (the same rows as the kit's static drawing). */
export function nodeLines(v: IVisibleNode, isRoot: boolean): string[] {
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
  const title = n.label || (isRoot ? 'output' : '');
  if (title) {
    rows.push(title);
  }
  rows.push(`${formatShape(n.shape)} ${n.dtype ?? ''}`.trim());
  if (n.stats?.data) {
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
    const rows = nodeLines(v, v.id === view.root);
    lines.set(v.id, rows);
    const stmt = `${name} [label=${dotLabel(rows)}, shape=${SHAPES[v.kind] ?? 'box'}];`;
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
      out.push(`${indent}  label=${dotString(label)}; labeljust=l; fontsize=10; margin=8;`);
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
