/** The details pane of one node: what it is, where it comes from, its statistics and picture. */

import { displayName } from './dot';
import { IVisibleNode } from './fold';
import { ICard, formatNumber, formatShape, formatValue, IGraphDoc, IGraphNode, IStats } from './schema';

/** What typesets LaTeX in an element's text (JupyterLab's MathJax, `IRenderMime.ILatexTypesetter`). */
export interface ITypesetter {
  typeset(element: HTMLElement): void;
}

function h(tag: string, text?: string, cls?: string): HTMLElement {
  const el = document.createElement(tag);
  if (text !== undefined) {
    el.textContent = text;
  }
  if (cls) {
    el.className = cls;
  }
  return el;
}

function table(rows: [string, string][]): HTMLTableElement {
  const t = document.createElement('table');
  for (const [k, v] of rows) {
    const tr = t.insertRow();
    tr.dataset.field = k;
    tr.appendChild(h('th', k));
    tr.appendChild(h('td', v));
  }
  return t;
}

function describe(n: IGraphNode): string {
  if (n.kind === 'function') {
    return n.type ?? n.label;
  }
  const name = n.python_name || n.name || n.label || n.id;
  return `${name} ${formatShape(n.shape)}`.trim();
}

function argRows(args: Record<string, unknown>): [string, string][] {
  return Object.entries(args).map(([k, v]) => [k, formatValue(v)]);
}

function statsTable(data: IStats | null, grad: IStats | null, gradGiven: boolean): HTMLTableElement {
  const t = document.createElement('table');
  t.className = 'jp-NNablaGraph-stats';
  const head = t.createTHead().insertRow();
  for (const c of ['', 'data', gradGiven ? 'grad (given)' : 'grad']) {
    head.appendChild(h('th', c));
  }
  const body = t.createTBody();
  for (const k of ['min', 'mean', 'max', 'std', 'nan', 'inf', 'size'] as (keyof IStats)[]) {
    const tr = body.insertRow();
    tr.dataset.field = k;
    tr.appendChild(h('th', k));
    for (const s of [data, grad]) {
      tr.appendChild(h('td', s ? (k === 'nan' || k === 'inf' || k === 'size' ? String(s[k]) : formatNumber(s[k])) : ''));
    }
  }
  return t;
}

/** The card of a function: its meaning, then forward and gradient formulas. Everything is set as text: with a
 * typesetter the formulas go in as `$...$` and are typeset in place; without one they read as monospace LaTeX. */
export function renderCard(card: ICard, latex?: ITypesetter | null): HTMLElement {
  const box = h('div', undefined, 'jp-NNablaGraph-card');
  box.dataset.card = card.name;
  box.appendChild(h('div', card.meaning, 'jp-NNablaGraph-card-meaning'));
  for (const [field, tex] of [
    ['forward', card.forward],
    ['gradient', card.gradient]
  ] as const) {
    box.appendChild(h('div', field, 'jp-NNablaGraph-card-field'));
    const formula = h('div', latex ? `$${tex}$` : tex, 'jp-NNablaGraph-card-formula');
    formula.dataset.field = field;
    if (!latex) {
      formula.style.fontFamily = 'var(--jp-code-font-family)';
      formula.style.fontSize = 'var(--jp-code-font-size)';
      formula.style.whiteSpace = 'pre-wrap';
      formula.style.wordBreak = 'break-word';
    }
    box.appendChild(formula);
  }
  if (latex) {
    try {
      latex.typeset(box);
    } catch {
      // a typesetter that fails leaves the LaTeX as text, still readable
    }
  }
  return box;
}

/** Fill `pane` with the details of visible node `v`. `onUnfold` expands a folded scope; `latex` (optional)
 * typesets a function's card. */
export function renderDetails(
  pane: HTMLElement,
  doc: IGraphDoc,
  v: IVisibleNode,
  onUnfold: (scope: string) => void,
  latex?: ITypesetter | null
): void {
  pane.replaceChildren();
  const byId = new Map(doc.nodes.map(n => [n.id, n]));
  if (v.group) {
    pane.appendChild(h('h3', v.group.scope));
    pane.appendChild(
      table([
        ['kind', 'folded scope'],
        ['members', String(v.group.members.length)],
        ['functions', v.group.summary || '-'],
        ['grad flags', v.group.gradFlags.join(', ') || '-']
      ])
    );
    const button = h('button', 'Unfold', 'jp-NNablaGraph-button');
    button.addEventListener('click', () => onUnfold(v.group!.scope));
    pane.appendChild(button);
    return;
  }
  const n = v.node!;
  let title = displayName(n, n.id === doc.root);
  if (title === n.id) {
    // an unnamed intermediate: called by the function that makes it, as the kit's captions do
    const maker = doc.edges.find(e => e.target === n.id);
    const f = maker ? byId.get(maker.source) : undefined;
    if (f?.type) {
      title = `${f.type} output ${n.id}`;
    }
  }
  pane.appendChild(h('h3', title));
  const rows: [string, string][] = [['kind', n.kind]];
  if (n.python_name && n.name && n.name !== n.python_name) {
    rows.push([n.kind === 'parameter' ? 'parameter' : 'name', n.name]);
  }
  rows.push(['id', n.id]);
  if (n.kind === 'variable' || n.kind === 'parameter') {
    rows.push(['shape', formatShape(n.shape)], ['dtype', n.dtype ?? ''], ['need_grad', String(n.need_grad)]);
  }
  if (n.scope) {
    rows.push(['scope', n.scope]);
  }
  if (n.kind === 'group' || n.kind === 'truncated') {
    rows.push(['members', String(n.members ?? 0)]);
  }
  if (n.grad_flags.length) {
    rows.push(['grad flags', n.grad_flags.join(', ')]);
  }
  pane.appendChild(table(rows));

  const preds = doc.edges.filter(e => e.target === n.id).map(e => byId.get(e.source)!).filter(Boolean);
  const succs = doc.edges.filter(e => e.source === n.id).map(e => byId.get(e.target)!).filter(Boolean);
  if (n.kind === 'function') {
    const card = n.type ? doc.cards?.[n.type] : undefined;
    if (card && typeof card.forward === 'string' && typeof card.gradient === 'string') {
      pane.appendChild(h('h4', `what ${card.name} computes`));
      pane.appendChild(renderCard(card, latex));
    }
    if (Object.keys(n.args).length) {
      pane.appendChild(h('h4', 'arguments'));
      pane.appendChild(table(argRows(n.args)));
    }
    pane.appendChild(h('h4', 'inputs'));
    pane.appendChild(table(preds.map((p, i) => [String(i), describe(p)])));
    pane.appendChild(h('h4', 'outputs'));
    pane.appendChild(table(succs.map((p, i) => [String(i), describe(p)])));
  } else {
    const parent = preds.find(p => p.kind === 'function');
    if (parent) {
      pane.appendChild(h('h4', 'parent function'));
      pane.appendChild(table([['function', parent.type ?? parent.label], ...argRows(parent.args)]));
    }
    if (succs.length) {
      pane.appendChild(h('h4', 'used by'));
      pane.appendChild(table(succs.map((s, i) => [String(i), describe(s)])));
    }
  }
  if (n.stats) {
    pane.appendChild(h('h4', 'statistics'));
    pane.appendChild(statsTable(n.stats.data, n.stats.grad, n.grad_given === true));
  }
  // only a PNG data URI from the kernel becomes a picture; anything else is ignored
  if (n.heatmap && /^data:image\/png;base64,[A-Za-z0-9+/=]+$/.test(n.heatmap)) {
    pane.appendChild(h('h4', 'values'));
    const img = document.createElement('img');
    img.className = 'jp-NNablaGraph-heatmap';
    img.alt = `values of ${n.name}`;
    img.src = n.heatmap;
    pane.appendChild(img);
  }
}
