import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { displayName, dotLabel, dotString, nodeLines, nodeSize, toDot } from '../src/graph/dot';
import {
  allScopes,
  commonScope,
  drawnScope,
  GROUP_PREFIX,
  initialFolded,
  topScopes,
  visibleGraph
} from '../src/graph/fold';
import { layout } from '../src/graph/layout';
import { checkDoc, formatNumber, formatShape, IGraphDoc, IGraphNode } from '../src/graph/schema';
import { nodeMatches, searchVisible } from '../src/graph/search';

/** Two affine layers (net/fc1, net/fc2), ReLU between, mean loss; written by tests/fixtures/make_fixtures.py. */
const mlp = checkDoc(JSON.parse(readFileSync(new URL('./fixtures/mlp.json', import.meta.url), 'utf8')));
/** 3 blocks x 12 layers, default kit options: the kit folded its own picture but sends every node. */
const blocks = checkDoc(JSON.parse(readFileSync(new URL('./fixtures/blocks.json', import.meta.url), 'utf8')));

function node(id: string, extra: Partial<IGraphNode> = {}): IGraphNode {
  return {
    id,
    kind: 'variable',
    label: '',
    name: '',
    shape: [2],
    dtype: 'float32',
    scope: '',
    type: null,
    args: {},
    need_grad: false,
    stats: null,
    grad_flags: [],
    ...extra
  };
}

function doc(nodes: IGraphNode[], edges: [string, string][], root: string): IGraphDoc {
  return {
    version: 1,
    root,
    nodes,
    edges: edges.map(([source, target]) => ({ source, target })),
    scopes: [],
    options: { values: false, grads: false },
    hidden: 0
  };
}

describe('scopes and folding', () => {
  it('lists nested scopes outermost first', () => {
    expect(allScopes(mlp)).toEqual(['net', 'net/fc1', 'net/fc2', 'net/fc1/affine', 'net/fc2/affine']);
    expect(topScopes(mlp)).toEqual(['net']);
  });

  it('shows every node when nothing is folded, with one cluster per scope level', () => {
    const view = visibleGraph(mlp, new Set());
    expect(view.nodes).toHaveLength(13);
    expect(view.edges).toHaveLength(mlp.edges.length);
    expect(view.clusters).toEqual(allScopes(mlp));
    expect(view.root).toBe(mlp.root);
  });

  it('draws an unscoped node in the scope shared by the scoped nodes around it', () => {
    const drawn = (id: string) => drawnScope(mlp, mlp.nodes.find(n => n.id === id)!);
    expect(commonScope('a/b/c', 'a/d')).toBe('a');
    expect(commonScope(null, 'a/d')).toBe('a/d');
    expect(drawn('n1')).toBe('net/fc1/affine'); // a parameter: its own scope
    expect(['n4', 'n5', 'n6'].map(drawn)).toEqual(['net', 'net', 'net']); // between fc1 and fc2
    expect(['n0', 'n10', 'n11', 'n12'].map(drawn)).toEqual(['', '', '', '']); // before / after the net
  });

  it('folding a scope replaces its nodes by one group node', () => {
    const view = visibleGraph(mlp, new Set(['net/fc1']));
    const group = view.nodes.find(v => v.id === GROUP_PREFIX + 'net/fc1')!;
    expect(group.kind).toBe('group');
    expect(group.cluster).toBe('net');
    expect(group.group!.members.sort()).toEqual(['n1', 'n2', 'n3']);
    expect(view.nodes).toHaveLength(13 - 3 + 1);
    expect(view.clusters).not.toContain('net/fc1/affine');
  });

  it('a folded scope also swallows the unscoped nodes between its members', () => {
    const view = visibleGraph(mlp, new Set(['net']));
    // x, the net group, the last affine's output, Mean, the loss
    expect(view.nodes.map(v => v.id)).toEqual(['n0', GROUP_PREFIX + 'net', 'n10', 'n11', 'n12']);
    expect(view.shownAs.get('n5')).toBe(GROUP_PREFIX + 'net'); // the ReLU between fc1 and fc2
    expect(view.edges).toEqual([
      { source: 'n0', target: GROUP_PREFIX + 'net' },
      { source: GROUP_PREFIX + 'net', target: 'n10' },
      { source: 'n10', target: 'n11' },
      { source: 'n11', target: 'n12' }
    ]);
    expect(view.nodes.find(v => v.group)!.group!.summary).toBe('Affine x2, ReLU');
    expect(view.clusters).toEqual([]);
  });

  it('the outermost folded scope wins, and the root is never swallowed', () => {
    const both = visibleGraph(mlp, new Set(['net', 'net/fc2']));
    expect(both.nodes).toHaveLength(5);
    const d = doc(
      [node('a', { kind: 'parameter', scope: 's' }), node('f', { kind: 'function', scope: 's' }), node('y')],
      [
        ['a', 'f'],
        ['f', 'y']
      ],
      'y'
    );
    expect(visibleGraph(d, new Set(['s'])).nodes.map(v => v.id)).toEqual([GROUP_PREFIX + 's', 'y']);
  });

  it('carries gradient flags of members onto the group', () => {
    const d = doc(
      [node('w', { kind: 'parameter', scope: 's', grad_flags: ['nan'] }), node('f', { kind: 'function', scope: 's' }), node('y')],
      [
        ['w', 'f'],
        ['f', 'y']
      ],
      'y'
    );
    expect(visibleGraph(d, new Set(['s'])).nodes[0].group!.gradFlags).toEqual(['nan']);
  });
});

describe('documents from the kit', () => {
  it('hold the whole graph even where the kit folded its picture, and the browser folds it itself', () => {
    expect(blocks.nodes).toHaveLength(217);
    expect(blocks.nodes.some(n => n.kind === 'group' || n.kind === 'truncated')).toBe(false);
    expect(blocks.hidden).toBe(0);
    expect(blocks.static_view!.collapsed).toHaveLength(36); // the kit's picture folds every layer scope
    expect(topScopes(blocks)).toEqual(['block0', 'block1', 'block2']);
    const folded = visibleGraph(blocks, new Set(topScopes(blocks)));
    const groups = folded.nodes.filter(v => v.group);
    expect(groups.map(v => v.group!.scope)).toEqual(['block0', 'block1', 'block2']);
    const members = groups.reduce((k, v) => k + v.group!.members.length, 0);
    expect(members + folded.nodes.length - groups.length).toBe(217); // every node is in a group or shown
    // unfolding one block shows its members: its 12 Affine functions come back, each in its layer's cluster
    const one = visibleGraph(blocks, new Set(['block0', 'block2']));
    const affines = one.nodes.filter(v => v.node?.type === 'Affine');
    expect(affines.map(v => v.cluster)).toEqual([...Array(12).keys()].map(i => `block1/layer${i}/affine`));
    expect(visibleGraph(blocks, new Set()).nodes).toHaveLength(217);
  });

  it("show no computed gradient on the output: backward never writes the root's own", () => {
    const root = mlp.nodes.find(n => n.id === mlp.root)!;
    expect(root.stats!.grad).toBeNull();
    expect(root.grad_flags).toEqual([]);
    const given = node('y', { stats: { data: null, grad: { min: 1, mean: 1, max: 1, std: 0, nan: 0, inf: 0, size: 1 } } });
    const view = visibleGraph(doc([{ ...given, grad_given: true }], [], 'y'), new Set());
    expect(nodeLines(view.nodes[0], true)).toContain('grad (given) 1 .. 1  mean 1');
  });
});

describe('opening folded as the kit chose', () => {
  it('a bundle drawn collapsed opens collapsed, at the outermost scope around each collapsed one', () => {
    const collapsed = { ...mlp, static_view: { collapsed: ['net/fc1/affine', 'net/fc2/affine'], max_nodes: 400, hidden: 0 } };
    expect([...initialFolded(collapsed)]).toEqual(['net']);
    expect(visibleGraph(collapsed, initialFolded(collapsed)).nodes).toHaveLength(5);
  });

  it('a bundle drawn expanded opens expanded; one without a choice folds only when big', () => {
    expect(mlp.static_view!.collapsed).toEqual([]);
    expect(initialFolded(mlp).size).toBe(0);
    expect([...initialFolded(blocks)]).toEqual(['block0', 'block1', 'block2']);
    const { static_view: _, ...bare } = blocks;
    expect([...initialFolded(bare)]).toEqual([]); // 217 nodes: below AUTO_FOLD_NODES
  });
});

describe('names in the student\'s words', () => {
  const named = doc(
    [
      node('n0', { python_name: 'x' }),
      node('n1', { kind: 'parameter', label: 'W', name: 'fc/affine/W', scope: 'fc/affine' }),
      node('n2', { kind: 'function', label: 'Affine', type: 'Affine', scope: 'fc/affine' }),
      node('n3', { python_name: 'loss', label: 'loss' })
    ],
    [
      ['n0', 'n2'],
      ['n1', 'n2'],
      ['n2', 'n3']
    ],
    'n3'
  );

  it('search finds a variable by its Python name', () => {
    const view = visibleGraph(named, new Set());
    expect([...searchVisible(named.nodes, view, 'loss')]).toEqual(['n3']);
    expect([...searchVisible(named.nodes, view, 'x')]).toContain('n0');
  });

  it('the loss is called loss, a parameter by its scoped name', () => {
    const byId = new Map(named.nodes.map(n => [n.id, n]));
    expect(displayName(byId.get('n3')!, true)).toBe('loss');
    expect(displayName(byId.get('n1')!, false)).toBe('fc/affine/W');
    const view = visibleGraph(named, new Set());
    expect(nodeLines(view.nodes[3], true)[0]).toBe('loss');
  });
});

describe('node sizes from the browser font', () => {
  const measure = (text: string, bold: boolean) => text.length * (bold ? 7 : 6);

  it('every line fits its box; ellipses enclose the text box', () => {
    const rows = ['SoftmaxCrossEntropy', 'axis=1'];
    const box = nodeSize(rows, false, measure);
    expect(box.width * 72).toBeGreaterThanOrEqual(measure(rows[0], true) + 16);
    const oval = nodeSize(rows, true, measure);
    const [w, h] = [measure(rows[0], true), 2 * 13];
    // the text box's corner lies inside the ellipse
    expect((w / (oval.width * 72)) ** 2 + (h / (oval.height * 72)) ** 2).toBeLessThanOrEqual(1);
  });

  it('a measured DOT fixes each node size and keeps the data flow in one group', () => {
    const dot = toDot(visibleGraph(mlp, new Set()), { measure });
    expect(dot.source.match(/fixedsize=true/g)).toHaveLength(mlp.nodes.length);
    expect(dot.source.match(/group=flow/g)).toHaveLength(mlp.nodes.filter(n => n.kind !== 'parameter').length);
  });

  it('data statistics are drawn only when the kit was asked for values', () => {
    const w = visibleGraph(mlp, new Set()).nodes.find(v => v.id === 'n1')!;
    expect(nodeLines(w, false, true).some(r => r.startsWith('data '))).toBe(true);
    expect(nodeLines(w, false, false).some(r => r.startsWith('data '))).toBe(false);
  });
});

describe('search', () => {
  it('matches name, label, type and scope, case-insensitively', () => {
    const byId = new Map(mlp.nodes.map(n => [n.id, n]));
    expect(nodeMatches(byId.get('n1')!, 'FC1/affine/w')).toBe(true);
    expect(nodeMatches(byId.get('n5')!, 'relu')).toBe(true);
    expect(nodeMatches(byId.get('n5')!, '  ')).toBe(false);
    expect(mlp.nodes.filter(n => nodeMatches(n, 'affine')).map(n => n.id)).toEqual(['n1', 'n2', 'n3', 'n7', 'n8', 'n9']);
  });

  it('lights up the group of a match hidden in a folded scope', () => {
    const view = visibleGraph(mlp, new Set(['net/fc2']));
    const hits = searchVisible(mlp.nodes, view, 'fc2/affine/b');
    expect([...hits]).toEqual([GROUP_PREFIX + 'net/fc2']);
  });
});

describe('DOT source', () => {
  it('escapes quotes, backslashes and line breaks in user strings', () => {
    expect(dotString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(dotString('x\ny')).toBe('"x y"');
    expect(dotString('<img src=x onerror=alert(1)>')).toBe('"<img src=x onerror=alert(1)>"');
    expect(dotLabel(['W', '(3, 4) float32'])).toBe('"W\\n(3, 4) float32"');
  });

  it('names nodes by index, never by kernel strings, and nests clusters', () => {
    const evil = 'evil"];\n} digraph x {\\';
    const d = doc(
      [node('p', { kind: 'parameter', scope: `${evil}/inner`, label: evil, name: evil }), node('y', { label: evil })],
      [['p', 'y']],
      'y'
    );
    const dot = toDot(visibleGraph(d, new Set()));
    expect(dot.source).toContain('v0 [label=');
    expect(dot.source).toContain('v0 -> v1;');
    expect(dot.source).not.toContain('"];\n}');
    expect(dot.source.match(/subgraph cluster_\d+ \{/g)).toHaveLength(2);
    expect(dot.idOf.get('v1')).toBe('y');
  });

  it('labels nodes like the kit does', () => {
    const view = visibleGraph(mlp, new Set());
    const lines = (id: string) => nodeLines(view.nodes.find(v => v.id === id)!, id === view.root);
    expect(lines('n1').slice(0, 2)).toEqual(['W', '(3, 4) float32']);
    expect(lines('n3')).toEqual(['Affine', 'base_axis=1']);
    expect(lines('n12')[0]).toBe('output');
    expect(lines('n12')[1]).toBe('() float32');
  });

  it('formats numbers and shapes', () => {
    expect(formatNumber('nan')).toBe('nan');
    expect(formatNumber('-inf')).toBe('-inf');
    expect(formatNumber(0.123456)).toBe('0.1235');
    expect(formatNumber(1e-7)).toBe('1.00e-7');
    expect(formatShape([4])).toBe('(4,)');
    expect(formatShape([2, 3])).toBe('(2, 3)');
  });
});

describe('layout with Graphviz (WebAssembly)', () => {
  it('places every visible node and cluster', async () => {
    const view = visibleGraph(mlp, new Set());
    const result = await layout(toDot(view));
    expect(result.nodes.map(n => n.id).sort()).toEqual(view.nodes.map(v => v.id).sort());
    expect(result.clusters.map(c => c.scope).sort()).toEqual([...view.clusters].sort());
    expect(result.edges).toHaveLength(view.edges.length);
    for (const n of result.nodes) {
      expect(n.x).toBeGreaterThanOrEqual(0);
      expect(n.y).toBeGreaterThanOrEqual(0);
      expect(n.x).toBeLessThanOrEqual(result.width);
      expect(n.y).toBeLessThanOrEqual(result.height);
    }
    // top to bottom: the input sits above the loss
    const y = (id: string) => result.nodes.find(n => n.id === id)!.y;
    expect(y('n0')).toBeLessThan(y('n12'));
  });

  it('folding lays out fewer nodes', async () => {
    const folded = await layout(toDot(visibleGraph(mlp, new Set(['net']))));
    expect(folded.nodes).toHaveLength(5);
  });
});
