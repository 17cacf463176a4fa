/**
 * Graphviz (16.1.0, WebAssembly from @hpcc-js/wasm-graphviz) lays out the DOT source; its `json0` output
 * is read into plain boxes and polylines in SVG coordinates (y grows downwards, points = CSS px).
 */

import type { Graphviz } from '@hpcc-js/wasm-graphviz';
import { IDotGraph } from './dot';

export interface IPoint {
  x: number;
  y: number;
}

export interface INodeBox {
  id: string;
  /** Centre and size. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface IClusterBox {
  scope: string;
  label: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface IEdgePath {
  source: string;
  target: string;
  /** Cubic B-spline control points p0, (c1, c2, p)*, as Graphviz writes them. */
  points: IPoint[];
  /** Arrow tip, when Graphviz drew an arrowhead. */
  arrow: IPoint | null;
}

export interface ILayout {
  width: number;
  height: number;
  nodes: INodeBox[];
  clusters: IClusterBox[];
  edges: IEdgePath[];
}

let graphviz: Promise<Graphviz> | null = null;

/** The Graphviz instance, compiled once per page. */
export function loadGraphviz(): Promise<Graphviz> {
  if (!graphviz) {
    graphviz = import('@hpcc-js/wasm-graphviz').then(m => m.Graphviz.load());
  }
  return graphviz;
}

interface IJsonObject {
  name: string;
  bb?: string;
  pos?: string;
  width?: string;
  height?: string;
  label?: string;
}

interface IJsonLayout {
  bb: string;
  objects?: IJsonObject[];
  edges?: { tail: number; head: number; pos?: string }[];
}

function numbers(text: string): number[] {
  return text.split(',').map(Number);
}

/** Parse Graphviz `json0` output for a graph made by `toDot`. */
export function parseLayout(json: string, dot: IDotGraph): ILayout {
  const g = JSON.parse(json) as IJsonLayout;
  const [, , , top] = numbers(g.bb);
  const [x0, y0, x1, y1] = numbers(g.bb);
  const flip = (x: number, y: number): IPoint => ({ x: x - x0, y: top - y });
  const nodes: INodeBox[] = [];
  const clusters: IClusterBox[] = [];
  const objectName: string[] = [];
  for (const [i, o] of (g.objects ?? []).entries()) {
    objectName[i] = o.name;
    const id = dot.idOf.get(o.name);
    if (id !== undefined && o.pos) {
      const [x, y] = numbers(o.pos);
      const p = flip(x, y);
      nodes.push({ id, x: p.x, y: p.y, width: Number(o.width) * 72, height: Number(o.height) * 72 });
    } else if (o.bb && dot.scopeOfCluster.has(o.name)) {
      const [bx0, by0, bx1, by1] = numbers(o.bb);
      const p = flip(bx0, by1);
      clusters.push({
        scope: dot.scopeOfCluster.get(o.name)!,
        label: o.label ?? '',
        x: p.x,
        y: p.y,
        width: bx1 - bx0,
        height: by1 - by0
      });
    }
  }
  const edges: IEdgePath[] = [];
  for (const e of g.edges ?? []) {
    if (!e.pos) {
      continue;
    }
    let arrow: IPoint | null = null;
    const points: IPoint[] = [];
    for (const part of e.pos.split(' ')) {
      if (part.startsWith('e,')) {
        const [x, y] = numbers(part.slice(2));
        arrow = flip(x, y);
      } else if (!part.startsWith('s,')) {
        const [x, y] = numbers(part);
        points.push(flip(x, y));
      }
    }
    edges.push({
      source: dot.idOf.get(objectName[e.tail])!,
      target: dot.idOf.get(objectName[e.head])!,
      points,
      arrow
    });
  }
  return { width: x1 - x0, height: y1 - y0, nodes, clusters, edges };
}

export async function layout(dot: IDotGraph): Promise<ILayout> {
  const gv = await loadGraphviz();
  // json0: positions only, without xdot drawing operations
  const json = gv.layout(dot.source, 'json0' as 'json', 'dot');
  return parseLayout(json, dot);
}
