/** Search: which nodes match a query (case-insensitive substring of Python name, name, label, type or scope). */

import { IGraphNode } from './schema';
import { IVisibleGraph } from './fold';

export function nodeMatches(n: IGraphNode, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) {
    return false;
  }
  return [n.python_name ?? '', n.name, n.label, n.type ?? '', n.scope].some(s => s.toLowerCase().includes(q));
}

/** Ids of the visible nodes to highlight: a match hidden in a folded scope lights up its group. */
export function searchVisible(nodes: IGraphNode[], view: IVisibleGraph, query: string): Set<string> {
  const hits = new Set<string>();
  for (const n of nodes) {
    if (nodeMatches(n, query)) {
      const shown = view.shownAs.get(n.id);
      if (shown !== undefined) {
        hits.add(shown);
      }
    }
  }
  const q = query.trim().toLowerCase();
  for (const v of view.nodes) {
    if (q && v.group && v.group.scope.toLowerCase().includes(q)) {
      hits.add(v.id);
    }
  }
  return hits;
}
