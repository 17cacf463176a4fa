import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { checkDoc } from '../src/graph/schema';
import {
  GraphDocError,
  MAX_ARG_DEPTH,
  MAX_DIMS,
  MAX_EDGES,
  MAX_NODES,
  MAX_STRING,
  validateDoc
} from '../src/graph/validate';

/** A fresh copy of the kit's two-layer MLP document (tests/fixtures/make_fixtures.py) to break. */
function mlp(): any {
  return JSON.parse(readFileSync(new URL('./fixtures/mlp.json', import.meta.url), 'utf8'));
}

function broken(change: (doc: any) => void): () => any {
  return () => {
    const doc = mlp();
    change(doc);
    return doc;
  };
}

const HOSTILE = '<img src=x onerror="window.__injected=1"><script>window.__injected=1</script>';

/** Malformed and hostile documents: [what, the document, what the message must say]. */
const BAD: [string, () => unknown, RegExp][] = [
  ['null', () => null, /not an nnabla graph document \(null\)/],
  ['a string', () => HOSTILE, /not an nnabla graph document \(a string\)/],
  ['an array', () => [mlp()], /not an nnabla graph document \(an array\)/],
  ['no version', broken(d => delete d.version), /^unsupported nnabla graph document version \(none\)/],
  ['a newer version', broken(d => (d.version = 2)), /version 2 \(this extension reads version 1\)/],
  ['version as a string', broken(d => (d.version = '1')), /version a string/],
  ['no nodes', broken(d => delete d.nodes), /^nodes is missing \(an array\)/],
  ['nodes an object', broken(d => (d.nodes = { n0: {} })), /^nodes must be an array, not an object/],
  ['no edges', broken(d => delete d.edges), /^edges is missing \(an array\)/],
  ['too many nodes', broken(d => (d.nodes = new Array(MAX_NODES + 1).fill(d.nodes[0]))), /^nodes has 25001 entries \(at most 25000\)/],
  ['too many edges', broken(d => (d.edges = new Array(MAX_EDGES + 1).fill(d.edges[0]))), /^edges has 100001 entries/],
  ['a node that is a string', broken(d => (d.nodes[2] = HOSTILE)), /^nodes\[2\] must be an object, not a string/],
  ['a node without id', broken(d => delete d.nodes[0].id), /^nodes\[0\]\.id is missing \(a string\)/],
  ['a numeric id', broken(d => (d.nodes[1].id = 1)), /^nodes\[1\]\.id must be a string, not a number/],
  ['an unknown kind', broken(d => (d.nodes[0].kind = HOSTILE)), /^nodes\[0\]\.kind is \d+ characters long \(at most 32\)/],
  ['a made-up kind', broken(d => (d.nodes[0].kind = 'script')), /^nodes\[0\]\.kind "script" is not one of variable/],
  ['a numeric label', broken(d => (d.nodes[3].label = 3)), /^nodes\[3\]\.label must be a string, not a number/],
  ['a huge name', broken(d => (d.nodes[1].name = 'W'.repeat(MAX_STRING + 1))), /^nodes\[1\]\.name is 1001 characters long \(at most 1000\)/],
  ['a name as an object', broken(d => (d.nodes[1].name = { toString: HOSTILE })), /^nodes\[1\]\.name must be a string, not an object/],
  ['no scope', broken(d => delete d.nodes[4].scope), /^nodes\[4\]\.scope is missing \(a string\)/],
  ['a negative dimension', broken(d => (d.nodes[0].shape = [2, -3])), /^nodes\[0\]\.shape\[1\] must be a whole number >= 0/],
  ['a fractional dimension', broken(d => (d.nodes[0].shape = [2.5])), /^nodes\[0\]\.shape\[0\] must be a whole number/],
  ['too many dimensions', broken(d => (d.nodes[0].shape = new Array(MAX_DIMS + 1).fill(1))), /^nodes\[0\]\.shape has 33 entries/],
  ['args as an array', broken(d => (d.nodes[3].args = [1, 2])), /^nodes\[3\]\.args must be an object, not an array/],
  ['args nested too deep', broken(d => (d.nodes[3].args = { a: nest(MAX_ARG_DEPTH + 2) })), /^nodes\[3\]\.args is nested more than 8 deep/],
  ['args with a huge string', broken(d => (d.nodes[3].args = { mode: 'x'.repeat(5000) })), /^nodes\[3\]\.args value is 5000 characters long/],
  ['need_grad as a string', broken(d => (d.nodes[1].need_grad = 'yes')), /^nodes\[1\]\.need_grad must be true or false/],
  ['stats as a number', broken(d => (d.nodes[0].stats = 1)), /^nodes\[0\]\.stats must be an object or null/],
  ['a statistic as a word', broken(d => (d.nodes[0].stats.data.min = 'big')), /^nodes\[0\]\.stats\.data\.min must be a number, "nan"/],
  ['a negative count', broken(d => (d.nodes[0].stats.data.nan = -1)), /^nodes\[0\]\.stats\.data\.nan must be a whole number >= 0/],
  ['markup as a flag', broken(d => (d.nodes[0].grad_flags = ['<b>nan</b>'])), /^nodes\[0\]\.grad_flags\[0\] is not a flag name/],
  ['flags as a string', broken(d => (d.nodes[0].grad_flags = 'nan')), /^nodes\[0\]\.grad_flags must be an array/],
  ['a script heatmap', broken(d => (d.nodes[1].heatmap = 'javascript:alert(1)')), /^nodes\[1\]\.heatmap must be a PNG data-URI/],
  ['a remote heatmap', broken(d => (d.nodes[1].heatmap = 'https://example.com/x.png')), /^nodes\[1\]\.heatmap must be a PNG data-URI/],
  ['an SVG heatmap', broken(d => (d.nodes[1].heatmap = 'data:image/svg+xml;base64,PHN2Zz4=')), /heatmap must be a PNG data-URI/],
  ['negative members', broken(d => (d.nodes[0].members = -4)), /^nodes\[0\]\.members must be a whole number >= 0/],
  ['an unknown highlight', broken(d => (d.nodes[0].highlight = 'red')), /^nodes\[0\]\.highlight must be "current" or "reached"/],
  ['grad_given as a number', broken(d => (d.nodes[0].grad_given = 1)), /^nodes\[0\]\.grad_given must be true or false/],
  ['python_name as a number', broken(d => (d.nodes[0].python_name = 7)), /^nodes\[0\]\.python_name must be a string/],
  ['an id used twice', broken(d => (d.nodes[5].id = 'n4')), /^nodes\[5\]\.id "n4" is used twice/],
  ['a dangling edge source', broken(d => d.edges.push({ source: HOSTILE.slice(0, 60), target: 'n3' })), /^edges\[\d+\]\.source "<img src=x .*…" is no node of the graph/],
  ['a dangling edge target', broken(d => (d.edges[0].target = 'n99')), /^edges\[0\]\.target "n99" is no node of the graph/],
  ['an edge as a pair', broken(d => (d.edges[0] = ['n0', 'n3'])), /^edges\[0\] must be an object, not an array/],
  ['an edge without target', broken(d => delete d.edges[1].target), /^edges\[1\]\.target is missing/],
  ['no root', broken(d => delete d.root), /^root is missing/],
  ['a dangling root', broken(d => (d.root = 'n404')), /^root "n404" is no node of the graph/],
  ['scopes as an object', broken(d => (d.scopes = {})), /^scopes must be an array/],
  ['a scope of a missing node', broken(d => d.scopes[0].nodes.push('n77')), /^scopes\[0\]\.nodes\[3\] "n77" is no node of the graph/],
  ['a scope without name', broken(d => delete d.scopes[0].name), /^scopes\[0\]\.name is missing/],
  ['no options', broken(d => delete d.options), /^options is missing \(an object\)/],
  ['options.values as a string', broken(d => (d.options.values = 'true')), /^options\.values must be true or false/],
  ['a negative hidden', broken(d => (d.hidden = -1)), /^hidden must be a whole number >= 0/],
  ['static_view.collapsed a string', broken(d => (d.static_view.collapsed = 'net')), /^static_view\.collapsed must be an array/],
  ['static_view.max_nodes a string', broken(d => (d.static_view.max_nodes = '400')), /^static_view\.max_nodes must be a whole number/],
  ['a cycle', broken(d => d.edges.push({ source: d.root, target: 'n3' })), /^the edges form a cycle/],
  ['a self-loop', broken(d => d.edges.push({ source: 'n3', target: 'n3' })), /^the edges form a cycle/]
];

function nest(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) {
    v = [v];
  }
  return v;
}

describe('a malformed or hostile document is refused with a short message', () => {
  it.each(BAD)('%s', (_what, make, message) => {
    const doc = make();
    let error: unknown = null;
    try {
      checkDoc(doc);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GraphDocError);
    const text = (error as Error).message;
    expect(text).toMatch(message);
    expect(text.length).toBeLessThan(160);
    expect(text).not.toContain('window.__injected=1</script>'); // quoted values are cut short
  });
});

describe('documents the kit writes are accepted', () => {
  it.each(['mlp.json', 'blocks.json'])('%s', name => {
    const doc = JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
    expect(checkDoc(doc)).toBe(doc);
    expect(validateDoc(doc)).toBe(doc); // checked once: the second call is a lookup
  });

  it('markup in names is data: accepted, to be drawn as text', () => {
    const doc = mlp();
    doc.nodes[1].name = HOSTILE;
    doc.nodes[1].label = HOSTILE;
    doc.nodes[1].python_name = HOSTILE;
    doc.scopes[0].name = HOSTILE;
    doc.nodes[3].args = { mode: HOSTILE, pad: [[1, 1], [0, 0]], flag: null, ok: true };
    expect(checkDoc(doc).nodes[1].name).toBe(HOSTILE);
  });

  it('optional fields may be left out, and unknown ones are ignored', () => {
    const doc = mlp();
    delete doc.static_view;
    doc.nodes[0].future_field = { anything: [1] };
    doc.nodes[1].heatmap = 'data:image/png;base64,iVBORw0KGgo=';
    doc.nodes[0].stats.data.max = 'inf';
    expect(checkDoc(doc).nodes.length).toBe(13);
  });
});
