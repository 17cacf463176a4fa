/** The interactive graph view: toolbar (search, fit, fold, export), pannable canvas, details pane. */

import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { renderDetails } from './details';
import { toDot } from './dot';
import { drawLayout, GRAD_FLAGS, nodeFlags, svgElement } from './draw';
import { exportSvg } from './export';
import { initialFolded, IVisibleGraph, topScopes, visibleGraph } from './fold';
import { ILayout, layout, loadGraphviz } from './layout';
import { checkDoc, IGraphDoc, MIME_TYPE } from './schema';
import { searchVisible } from './search';

export { AUTO_FOLD_NODES } from './fold';
/** Above this many visible nodes edges are drawn straight (spline routing dominates layout time). */
export const STRAIGHT_EDGES_NODES = 1500;
/** Up to this many visible nodes the data flow is laid out as one column beside the parameters' frames. */
export const FLOW_COLUMN_NODES = 400;
const PAD = 12;
/** The canvas grows with the graph up to this height; beyond it the graph is dragged (or Ctrl+wheel zoomed). */
const MAX_HEIGHT = 1200;
/** Fit never draws text smaller than this (CSS px): a wide graph scrolls sideways instead. */
export const MIN_FONT_PX = 10;

function button(label: string, title: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.className = 'jp-NNablaGraph-button';
  b.textContent = label;
  b.title = title;
  b.addEventListener('click', onClick);
  return b;
}

/** The font size nodes are drawn in (style/base.css) and laid out for. */
export const FONT_PX = 11;

/** Width of a line of text as the browser draws it in the graph's font (for the layout to size nodes). */
function textMeasure(): (text: string, bold: boolean) => number {
  const ctx = document.createElement('canvas').getContext('2d');
  // the theme's variable, which base.css also draws node text with (read from the body: the view may not be
  // attached yet when it is laid out)
  const family = getComputedStyle(document.body).getPropertyValue('--jp-ui-font-family').trim() || 'sans-serif';
  const seen = new Map<string, number>(); // big graphs repeat their labels ("ReLU", "(1, 8) float32")
  return (text, bold) => {
    const key = (bold ? 'b' : 'r') + text;
    let width = seen.get(key);
    if (width === undefined) {
      if (ctx) {
        ctx.font = `${bold ? 600 : 400} ${FONT_PX}px ${family}`;
        width = ctx.measureText(text).width;
      } else {
        width = text.length * FONT_PX * 0.6;
      }
      seen.set(key, width);
    }
    return width;
  };
}

export class GraphView extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType || MIME_TYPE;
    this._latex = options.latexTypesetter ?? null;
    this.addClass('jp-NNablaGraph');
    const toolbar = document.createElement('div');
    toolbar.className = 'jp-NNablaGraph-toolbar';
    this._search.type = 'search';
    this._search.placeholder = 'Search nodes';
    this._search.className = 'jp-NNablaGraph-search';
    this._search.addEventListener('input', () => this._applySearch());
    this._search.addEventListener('keydown', e => {
      if (e.key === 'Enter') {
        this._focusNextMatch();
      }
    });
    toolbar.append(
      this._search,
      this._matchCount,
      button('Fit', 'Fit to width, text kept readable', () => this._fit()),
      button('Fold all', 'Fold every top-level scope', () => this._setFolded(new Set(topScopes(this._doc!)))),
      button('Unfold all', 'Expand every scope', () => this._setFolded(new Set())),
      button('Export SVG', 'Download the current view as SVG', () => this._export()),
      this._flagBadges,
      this._status
    );
    this._matchCount.className = 'jp-NNablaGraph-count';
    this._flagBadges.className = 'jp-NNablaGraph-flags';
    this._status.className = 'jp-NNablaGraph-status';

    const main = document.createElement('div');
    main.className = 'jp-NNablaGraph-main';
    this._canvas.className = 'jp-NNablaGraph-canvas';
    this._svg.setAttribute('class', 'jp-NNablaGraph-svg');
    this._canvas.appendChild(this._svg);
    this._svg.appendChild(this._viewport);
    this._details.className = 'jp-NNablaGraph-details';
    this._details.hidden = true;
    main.append(this._canvas, this._details);
    this.node.append(toolbar, main);
    this._bindPanZoom();
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const started = performance.now();
    try {
      this._doc = checkDoc(model.data[this._mimeType]);
    } catch (err) {
      this._status.textContent = String(err);
      return;
    }
    this._folded = initialFolded(this._doc);
    await this._relayout(started);
  }

  protected onAfterAttach(): void {
    this._resize = new ResizeObserver(() => {
      if (!this._userMoved && this._graphLayout && this._canvas.clientWidth !== this._fittedWidth) {
        this._fit();
      }
    });
    this._resize.observe(this._canvas);
  }

  protected onBeforeDetach(): void {
    this._resize?.disconnect();
    this._resize = null;
  }

  private _setFolded(folded: Set<string>): void {
    this._folded = folded;
    void this._relayout(performance.now());
  }

  private async _relayout(started: number): Promise<void> {
    const doc = this._doc!;
    const generation = ++this._generation;
    this.node.dataset.state = 'layout';
    const view = visibleGraph(doc, this._folded);
    const dot = toDot(view, {
      straightEdges: view.nodes.length > STRAIGHT_EDGES_NODES,
      measure: textMeasure(),
      values: doc.options?.values !== false,
      flowColumn: view.nodes.length <= FLOW_COLUMN_NODES
    });
    const tModel = performance.now();
    let result: ILayout;
    let tGraphviz = 0;
    try {
      await loadGraphviz();
      tGraphviz = performance.now();
      result = await layout(dot);
    } catch (err) {
      this._status.textContent = `layout failed: ${String(err)}`;
      this.node.dataset.state = 'error';
      return;
    }
    if (generation !== this._generation) {
      return; // a newer fold/unfold replaced this one
    }
    const tLayout = performance.now();
    this._view = view;
    this._graphLayout = result;
    this._viewport.replaceChildren();
    this._elements = drawLayout(result, view, dot.lines, this._viewport);
    this._selected = null;
    this._details.hidden = true;
    this._userMoved = false;
    this._fit();
    this._applySearch();
    this._showFlags(view);
    const end = performance.now();
    const ms = Math.round(end - started);
    const phase = (a: number, b: number) => Math.round(b - a);
    this.node.dataset.timing =
      `model+dot ${phase(started, tModel)} ms, graphviz start ${phase(tModel, tGraphviz)} ms, ` +
      `layout ${phase(tGraphviz, tLayout)} ms, draw ${phase(tLayout, end)} ms`;
    this._status.title = this.node.dataset.timing;
    this._status.textContent =
      `${view.nodes.length} of ${doc.nodes.length} nodes shown` +
      (doc.hidden ? ` (${doc.hidden} left out by the kit)` : '') +
      ` \u00B7 ${ms} ms`;
    this.node.dataset.visibleNodes = String(view.nodes.length);
    this.node.dataset.renderMs = String(ms);
    this.node.dataset.state = 'ready';
  }

  private _showFlags(view: IVisibleGraph): void {
    const counts = new Map<string, number>();
    for (const v of view.nodes) {
      if (v.node) {
        nodeFlags(v).forEach(f => counts.set(f, (counts.get(f) ?? 0) + 1));
      }
    }
    for (const n of this._doc!.nodes) {
      if (view.shownAs.get(n.id) !== n.id) {
        n.grad_flags.filter(f => GRAD_FLAGS.includes(f)).forEach(f => counts.set(f, (counts.get(f) ?? 0) + 1));
      }
    }
    this._flagBadges.replaceChildren();
    for (const f of GRAD_FLAGS) {
      const c = counts.get(f);
      if (c) {
        const badge = document.createElement('span');
        badge.className = `jp-NNablaGraph-badge jp-NNablaGraph-flag-${f}`;
        badge.textContent = `grad ${f}: ${c}`;
        this._flagBadges.appendChild(badge);
      }
    }
  }

  private _applyTransform(): void {
    const { k, x, y } = this._transform;
    this._viewport.setAttribute('transform', `translate(${x.toFixed(2)},${y.toFixed(2)}) scale(${k.toFixed(4)})`);
  }

  /**
   * Fit to width, never enlarging past 100% and never shrinking text below MIN_FONT_PX: the canvas grows with
   * the graph (up to MAX_HEIGHT) and a graph still too wide starts at its left edge, to be dragged.
   */
  private _fit(): void {
    if (!this._graphLayout) {
      return;
    }
    const width = this._canvas.clientWidth || 800;
    const minScale = MIN_FONT_PX / FONT_PX;
    const k = Math.max(minScale, Math.min(1, (width - 2 * PAD) / Math.max(1, this._graphLayout.width)));
    const height = Math.min(MAX_HEIGHT, Math.max(120, this._graphLayout.height * k + 2 * PAD));
    this._canvas.style.height = `${Math.round(height)}px`;
    const spare = width - this._graphLayout.width * k;
    this._transform = { k, x: spare > 2 * PAD ? spare / 2 : PAD, y: PAD };
    this._fittedWidth = this._canvas.clientWidth;
    this._userMoved = false;
    this._applyTransform();
    this.node.dataset.scale = k.toFixed(4);
  }

  private _bindPanZoom(): void {
    const canvas = this._canvas;
    let drag: { x: number; y: number; tx: number; ty: number; moved: boolean; id: number } | null = null;
    let swallowClick = false;
    // the wheel scrolls the notebook; only Ctrl/Cmd+wheel (and a touchpad pinch, which sends ctrlKey) zooms
    canvas.addEventListener('wheel', e => {
      if (!e.ctrlKey && !e.metaKey) {
        return;
      }
      e.preventDefault();
      const rect = canvas.getBoundingClientRect();
      const px = e.clientX - rect.left;
      const py = e.clientY - rect.top;
      const t = this._transform;
      const k = Math.min(8, Math.max(0.02, t.k * Math.exp(-e.deltaY * 0.0015)));
      const f = k / t.k;
      this._transform = { k, x: px - (px - t.x) * f, y: py - (py - t.y) * f };
      this._userMoved = true;
      this._applyTransform();
    });
    canvas.addEventListener('pointerdown', e => {
      if (e.button === 0) {
        drag = { x: e.clientX, y: e.clientY, tx: this._transform.x, ty: this._transform.y, moved: false, id: e.pointerId };
      }
    });
    canvas.addEventListener('pointermove', e => {
      if (!drag) {
        return;
      }
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (!drag.moved) {
        if (Math.hypot(dx, dy) < 4) {
          return;
        }
        drag.moved = true;
        canvas.setPointerCapture(drag.id);
        canvas.classList.add('jp-mod-dragging');
      }
      this._transform = { ...this._transform, x: drag.tx + dx, y: drag.ty + dy };
      this._userMoved = true;
      this._applyTransform();
    });
    const end = () => {
      if (drag?.moved) {
        swallowClick = true;
        canvas.classList.remove('jp-mod-dragging');
      }
      drag = null;
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
    canvas.addEventListener('click', e => {
      if (swallowClick) {
        swallowClick = false;
        return;
      }
      const target = e.target as Element;
      const nodeEl = target.closest<SVGGElement>('.jp-NNablaGraph-node');
      if (nodeEl) {
        this._clickNode(nodeEl.dataset.node!);
        return;
      }
      const clusterEl = target.closest<SVGGElement>('.jp-NNablaGraph-cluster');
      if (clusterEl) {
        this._folded.add(clusterEl.dataset.scope!);
        void this._relayout(performance.now());
      }
    });
  }

  private _clickNode(id: string): void {
    const v = this._view?.nodes.find(n => n.id === id);
    if (!v) {
      return;
    }
    if (v.group) {
      this._unfold(v.group.scope);
      return;
    }
    this._select(id);
  }

  private _unfold(scope: string): void {
    this._folded.delete(scope);
    void this._relayout(performance.now());
  }

  private _select(id: string | null): void {
    if (this._selected) {
      this._elements.get(this._selected)?.classList.remove('jp-mod-selected');
    }
    this._selected = id;
    const v = id ? this._view?.nodes.find(n => n.id === id) : undefined;
    if (!id || !v) {
      this._details.hidden = true;
      return;
    }
    this._elements.get(id)?.classList.add('jp-mod-selected');
    renderDetails(this._details, this._doc!, v, scope => this._unfold(scope), this._latex);
    const close = button('\u00D7', 'Close details', () => this._select(null));
    close.classList.add('jp-NNablaGraph-close');
    this._details.prepend(close);
    this._details.hidden = false;
  }

  private _applySearch(): void {
    if (!this._view || !this._doc) {
      return;
    }
    const query = this._search.value;
    const hits = searchVisible(this._doc.nodes, this._view, query);
    for (const [id, el] of this._elements) {
      el.classList.toggle('jp-mod-match', hits.has(id));
    }
    this._matches = this._view.nodes.filter(v => hits.has(v.id)).map(v => v.id);
    this._matchIndex = -1;
    this._matchCount.textContent = query.trim() ? `${this._matches.length} found` : '';
  }

  private _focusNextMatch(): void {
    if (!this._matches.length || !this._graphLayout) {
      return;
    }
    this._matchIndex = (this._matchIndex + 1) % this._matches.length;
    const id = this._matches[this._matchIndex];
    const box = this._graphLayout.nodes.find(b => b.id === id);
    if (box) {
      const k = Math.max(this._transform.k, 0.8);
      this._transform = {
        k,
        x: this._canvas.clientWidth / 2 - box.x * k,
        y: this._canvas.clientHeight / 2 - box.y * k
      };
      this._userMoved = true;
      this._applyTransform();
    }
  }

  private _export(): void {
    if (!this._graphLayout) {
      return;
    }
    const text = exportSvg(this._svg, this._viewport, this._graphLayout, this._canvas);
    const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'nnabla-graph.svg';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  private _mimeType: string;
  private _latex: IRenderMime.ILatexTypesetter | null;
  private _doc: IGraphDoc | null = null;
  private _folded = new Set<string>();
  private _view: IVisibleGraph | null = null;
  private _graphLayout: ILayout | null = null;
  private _elements = new Map<string, SVGGElement>();
  private _selected: string | null = null;
  private _generation = 0;
  private _transform = { k: 1, x: 0, y: 0 };
  private _userMoved = false;
  private _fittedWidth = 0;
  private _resize: ResizeObserver | null = null;
  private _matches: string[] = [];
  private _matchIndex = -1;
  private _search = document.createElement('input');
  private _matchCount = document.createElement('span');
  private _flagBadges = document.createElement('span');
  private _status = document.createElement('span');
  private _canvas = document.createElement('div');
  private _svg = svgElement('svg');
  private _viewport = svgElement('g', { class: 'jp-NNablaGraph-viewport' });
  private _details = document.createElement('div');
}
