/**
 * The graph as drawn: scopes folded into group nodes, the rest expanded.
 *
 * A folded scope becomes one group node holding every node drawn inside it: its parameters, the functions
 * using them, and the unscoped activations and variables between them (see `graphIndex`), so a folded
 * block of layers swallows its intermediate variables too. Only what is visible is laid out.
 */

import { IGraphDoc, IGraphNode } from './schema';

/** `"a/b/c"` -> `["a", "a/b", "a/b/c"]`. */
export function scopePrefixes(scope: string): string[] {
  if (!scope) {
    return [];
  }
  const parts = scope.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

export function parentScope(scope: string): string {
  const i = scope.lastIndexOf('/');
  return i < 0 ? '' : scope.slice(0, i);
}

/** The longest common scope of two (null: no scope known on that side). */
export function commonScope(a: string | null, b: string | null): string | null {
  if (a === null) {
    return b;
  }
  if (b === null) {
    return a;
  }
  const pa = a.split('/');
  const pb = b.split('/');
  let i = 0;
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) {
    i++;
  }
  return pa.slice(0, i).join('/');
}

/** Nodes in an order where every edge goes forwards (the kit's order already is one; this makes sure). */
function topologicalOrder(doc: IGraphDoc, succ: Map<string, string[]>): string[] {
  const indegree = new Map(doc.nodes.map(n => [n.id, 0]));
  for (const e of doc.edges) {
    indegree.set(e.target, (indegree.get(e.target) ?? 0) + 1);
  }
  const order: string[] = [];
  const ready = doc.nodes.filter(n => indegree.get(n.id) === 0).map(n => n.id).reverse();
  while (ready.length) {
    const id = ready.pop()!;
    order.push(id);
    for (const m of succ.get(id) ?? []) {
      const d = indegree.get(m)! - 1;
      indegree.set(m, d);
      if (d === 0) {
        ready.push(m);
      }
    }
  }
  return order.length === doc.nodes.length ? order : doc.nodes.map(n => n.id);
}

interface IIndex {
  byId: Map<string, IGraphNode>;
  succ: Map<string, string[]>;
  pred: Map<string, string[]>;
  /** Node id -> the scope whose cluster draws it ('' = top level). */
  drawnIn: Map<string, string>;
}

const indexes = new WeakMap<IGraphDoc, IIndex>();

/**
 * Where each node is drawn. Scoped nodes sit in their scope (a kit group node, standing for its scope, in
 * the parent). An unscoped node (an activation, an intermediate variable) sits in the deepest scope shared
 * by its nearest scoped ancestors and its nearest scoped descendants: between two layers of `block0` it is
 * drawn inside `block0`, and folding `block0` swallows it. The root always stays at the top level.
 */
export function graphIndex(doc: IGraphDoc): IIndex {
  const cached = indexes.get(doc);
  if (cached) {
    return cached;
  }
  const byId = new Map(doc.nodes.map(n => [n.id, n]));
  const succ = new Map<string, string[]>();
  const pred = new Map<string, string[]>();
  for (const e of doc.edges) {
    (succ.get(e.source) ?? succ.set(e.source, []).get(e.source)!).push(e.target);
    (pred.get(e.target) ?? pred.set(e.target, []).get(e.target)!).push(e.source);
  }
  const own = (n: IGraphNode): string => (n.kind === 'group' ? parentScope(n.scope) : n.scope);
  const order = topologicalOrder(doc, succ);
  const up = new Map<string, string | null>();
  for (const id of order) {
    const n = byId.get(id)!;
    let s: string | null = own(n) || null;
    if (s === null) {
      for (const p of pred.get(id) ?? []) {
        s = commonScope(s, up.get(p) ?? null);
        if (s === '') break;
      }
    }
    up.set(id, s);
  }
  const down = new Map<string, string | null>();
  for (let i = order.length - 1; i >= 0; i--) {
    const id = order[i];
    const n = byId.get(id)!;
    let s: string | null = own(n) || null;
    if (s === null) {
      for (const m of succ.get(id) ?? []) {
        s = commonScope(s, down.get(m) ?? null);
        if (s === '') break;
      }
    }
    down.set(id, s);
  }
  const drawnIn = new Map<string, string>();
  for (const n of doc.nodes) {
    let scope = own(n);
    if (!scope && n.id !== doc.root) {
      const a = up.get(n.id) ?? null;
      const b = down.get(n.id) ?? null;
      scope = a !== null && b !== null ? commonScope(a, b)! : '';
    }
    drawnIn.set(n.id, scope);
  }
  const index = { byId, succ, pred, drawnIn };
  indexes.set(doc, index);
  return index;
}

/** The scope whose cluster draws node `n` of `doc`. */
export function drawnScope(doc: IGraphDoc, n: IGraphNode): string {
  return graphIndex(doc).drawnIn.get(n.id) ?? n.scope;
}

/** Every scope and scope prefix that holds at least one node, outermost first. */
export function allScopes(doc: IGraphDoc): string[] {
  const seen = new Set<string>();
  for (const scope of graphIndex(doc).drawnIn.values()) {
    for (const p of scopePrefixes(scope)) {
      seen.add(p);
    }
  }
  return [...seen].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : a > b ? 1 : 0));
}

export function topScopes(doc: IGraphDoc): string[] {
  return allScopes(doc).filter(s => !s.includes('/'));
}

export interface IGroup {
  id: string;
  scope: string;
  /** Ids of the document nodes it stands for. */
  members: string[];
  /** `Affine x3, ReLU x2` */
  summary: string;
  gradFlags: string[];
}

export interface IVisibleNode {
  id: string;
  kind: IGraphNode['kind'];
  /** The scope whose cluster draws it ('' = top level). */
  cluster: string;
  node?: IGraphNode;
  group?: IGroup;
}

export interface IVisibleGraph {
  nodes: IVisibleNode[];
  edges: { source: string; target: string }[];
  /** Expanded scopes that hold visible nodes (outermost first); each is a cluster. */
  clusters: string[];
  /** Document node id -> id of the visible node drawing it. */
  shownAs: Map<string, string>;
  root: string;
}

export const GROUP_PREFIX = 'scope:';

function outermostFolded(scope: string, folded: Set<string>): string | null {
  for (const p of scopePrefixes(scope)) {
    if (folded.has(p)) {
      return p;
    }
  }
  return null;
}

function summarize(doc: Map<string, IGraphNode>, members: string[]): { summary: string; flags: string[] } {
  const counts = new Map<string, number>();
  const flags = new Set<string>();
  for (const id of members) {
    const n = doc.get(id)!;
    if (n.kind === 'function' && n.type) {
      counts.set(n.type, (counts.get(n.type) ?? 0) + 1);
    }
    n.grad_flags.forEach(f => flags.add(f));
  }
  const summary = [...counts].map(([t, c]) => (c > 1 ? `${t} x${c}` : t)).join(', ');
  return { summary, flags: [...flags] };
}

/** The visible graph for a set of folded scopes. */
export function visibleGraph(doc: IGraphDoc, folded: Set<string>): IVisibleGraph {
  const { byId, drawnIn } = graphIndex(doc);
  const owner = new Map<string, string>(); // node id -> outermost folded scope holding it
  const membersOf = new Map<string, string[]>();
  for (const n of doc.nodes) {
    const f = outermostFolded(drawnIn.get(n.id)!, folded);
    if (f !== null) {
      owner.set(n.id, f);
      (membersOf.get(f) ?? membersOf.set(f, []).get(f)!).push(n.id);
    }
  }

  const nodes: IVisibleNode[] = [];
  const shownAs = new Map<string, string>();
  const emitted = new Set<string>();
  for (const n of doc.nodes) {
    const scope = owner.get(n.id);
    if (scope === undefined) {
      nodes.push({ id: n.id, kind: n.kind, cluster: drawnIn.get(n.id)!, node: n });
      shownAs.set(n.id, n.id);
      continue;
    }
    const gid = GROUP_PREFIX + scope;
    shownAs.set(n.id, gid);
    if (!emitted.has(gid)) {
      emitted.add(gid);
      const members = membersOf.get(scope)!;
      const { summary, flags } = summarize(byId, members);
      nodes.push({
        id: gid,
        kind: 'group',
        cluster: parentScope(scope),
        group: { id: gid, scope, members, summary, gradFlags: flags }
      });
    }
  }

  const edges: { source: string; target: string }[] = [];
  const seen = new Set<string>();
  for (const e of doc.edges) {
    const s = shownAs.get(e.source);
    const t = shownAs.get(e.target);
    if (s === undefined || t === undefined || s === t) {
      continue;
    }
    const key = s + '\u0000' + t;
    if (!seen.has(key)) {
      seen.add(key);
      edges.push({ source: s, target: t });
    }
  }

  const clusterSet = new Set<string>();
  for (const v of nodes) {
    for (const p of scopePrefixes(v.cluster)) {
      clusterSet.add(p);
    }
  }
  const clusters = allScopes(doc).filter(s => clusterSet.has(s));
  return { nodes, edges, clusters, shownAs, root: shownAs.get(doc.root) ?? doc.root };
}

/** Above this many nodes a graph the kit sent without a folding choice opens with its top scopes folded. */
export const AUTO_FOLD_NODES = 300;

/**
 * The scopes folded when a document opens: the kit's own choice (`static_view.collapsed`, what
 * `collapse_scopes` / `--collapse` drew in the static picture), folded at the outermost scope drawn around each,
 * so the interactive view opens as collapsed as the picture; a document without that choice folds its top
 * scopes when it is big.
 */
export function initialFolded(doc: IGraphDoc): Set<string> {
  const collapsed = doc.static_view?.collapsed;
  if (collapsed) {
    const drawn = new Set(allScopes(doc));
    const folded = new Set<string>();
    for (const scope of collapsed) {
      const outer = scopePrefixes(scope).find(p => drawn.has(p));
      if (outer !== undefined) {
        folded.add(outer);
      }
    }
    return folded;
  }
  return doc.nodes.length > AUTO_FOLD_NODES ? new Set(topScopes(doc)) : new Set();
}
