/** Layout -> SVG elements, built with DOM APIs (kernel strings only ever go in as textContent). */

import { IVisibleGraph, IVisibleNode } from './fold';
import { NODE_LINE_PX } from './dot';
import { IEdgePath, ILayout, IPoint } from './layout';

const SVG_NS = 'http://www.w3.org/2000/svg';
export const LINE_HEIGHT = NODE_LINE_PX;
/** Gradient warnings the kit writes; each has its own highlight class. */
export const GRAD_FLAGS = ['nan', 'inf', 'zero', 'exploding'];

export function svgElement<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  parent?: Element
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    el.setAttribute(k, String(v));
  }
  parent?.appendChild(el);
  return el;
}

function fmt(x: number): string {
  return x.toFixed(1);
}

/** SVG path data for Graphviz's B-spline control points. */
export function splinePath(points: IPoint[]): string {
  if (!points.length) {
    return '';
  }
  const parts = [`M${fmt(points[0].x)},${fmt(points[0].y)}`];
  let i = 1;
  for (; i + 2 < points.length; i += 3) {
    const [a, b, c] = [points[i], points[i + 1], points[i + 2]];
    parts.push(`C${fmt(a.x)},${fmt(a.y)} ${fmt(b.x)},${fmt(b.y)} ${fmt(c.x)},${fmt(c.y)}`);
  }
  for (; i < points.length; i++) {
    parts.push(`L${fmt(points[i].x)},${fmt(points[i].y)}`);
  }
  return parts.join(' ');
}

function arrowHead(edge: IEdgePath): string | null {
  const tip = edge.arrow;
  const from = edge.points[edge.points.length - 1];
  if (!tip || !from) {
    return null;
  }
  const dx = tip.x - from.x;
  const dy = tip.y - from.y;
  const len = Math.hypot(dx, dy) || 1;
  const [nx, ny] = [-dy / len, dx / len];
  const w = Math.max(2.5, len * 0.35);
  return [
    `${fmt(tip.x)},${fmt(tip.y)}`,
    `${fmt(from.x + nx * w)},${fmt(from.y + ny * w)}`,
    `${fmt(from.x - nx * w)},${fmt(from.y - ny * w)}`
  ].join(' ');
}

export function nodeFlags(v: IVisibleNode): string[] {
  const flags = v.group ? v.group.gradFlags : (v.node?.grad_flags ?? []);
  return flags.filter(f => GRAD_FLAGS.includes(f));
}

/** Draw `layout` into `parent`; returns the element of each visible node id. */
export function drawLayout(layout: ILayout, view: IVisibleGraph, lines: Map<string, string[]>, parent: SVGGElement) {
  const byId = new Map(view.nodes.map(v => [v.id, v]));
  const clusterLayer = svgElement('g', { class: 'jp-NNablaGraph-clusters' }, parent);
  const edgeLayer = svgElement('g', { class: 'jp-NNablaGraph-edges' }, parent);
  const nodeLayer = svgElement('g', { class: 'jp-NNablaGraph-nodes' }, parent);

  for (const c of layout.clusters) {
    const g = svgElement('g', { class: 'jp-NNablaGraph-cluster' }, clusterLayer);
    g.dataset.scope = c.scope;
    const title = svgElement('title', {}, g);
    title.textContent = `${c.scope} (click to fold)`;
    svgElement('rect', { x: c.x, y: c.y, width: c.width, height: c.height, rx: 6 }, g);
    const label = svgElement('text', { x: c.x + 6, y: c.y + 13, class: 'jp-NNablaGraph-clusterLabel' }, g);
    label.textContent = '\u25BE ' + (c.scope.split('/').pop() ?? c.scope);
  }

  for (const e of layout.edges) {
    const g = svgElement('g', { class: 'jp-NNablaGraph-edge' }, edgeLayer);
    svgElement('path', { d: splinePath(e.points) }, g);
    const head = arrowHead(e);
    if (head) {
      svgElement('polygon', { points: head }, g);
    }
  }

  const elements = new Map<string, SVGGElement>();
  for (const box of layout.nodes) {
    const v = byId.get(box.id);
    if (!v) {
      continue;
    }
    const g = svgElement('g', { class: `jp-NNablaGraph-node jp-NNablaGraph-node--${v.kind}` }, nodeLayer);
    g.dataset.node = v.id;
    if (v.id === view.root) {
      g.classList.add('jp-NNablaGraph-node--root');
    }
    if (v.node?.highlight === 'current' || v.node?.highlight === 'reached') {
      g.classList.add(`jp-NNablaGraph-step-${v.node.highlight}`);
    }
    for (const f of nodeFlags(v)) {
      g.classList.add(`jp-NNablaGraph-flag-${f}`);
    }
    const { x, y, width: w, height: h } = box;
    if (v.kind === 'variable' || v.kind === 'parameter') {
      svgElement('ellipse', { cx: x, cy: y, rx: w / 2, ry: h / 2, class: 'jp-NNablaGraph-shape' }, g);
    } else {
      if (v.kind === 'group') {
        svgElement('rect', { x: x - w / 2 + 3, y: y - h / 2 + 3, width: w, height: h, rx: 3, class: 'jp-NNablaGraph-stack' }, g);
      }
      const r = v.kind === 'function' ? 3 : 4;
      svgElement('rect', { x: x - w / 2, y: y - h / 2, width: w, height: h, rx: r, class: 'jp-NNablaGraph-shape' }, g);
    }
    const rows = lines.get(v.id) ?? [];
    const text = svgElement('text', { x, y: y - ((rows.length - 1) * LINE_HEIGHT) / 2 + 4 }, g);
    rows.forEach((row, i) => {
      const span = svgElement('tspan', { x, dy: i ? LINE_HEIGHT : 0 }, text);
      if (i === 0) {
        span.setAttribute('class', 'jp-NNablaGraph-title');
      }
      span.textContent = row;
    });
    elements.set(v.id, g);
  }
  return elements;
}
