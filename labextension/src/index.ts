/** nnabla-nb: the MIME renderer for `application/vnd.nnabla.graph+json` (an interactive computation graph). */

import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { loadGraphviz } from './graph/layout';
import { MIME_TYPE } from './graph/schema';
import { GraphView } from './graph/widget';

/** Below text/html (50): marked safe, it then wins over the kit's HTML fallback in untrusted notebooks too. */
export const RANK = 40;

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [MIME_TYPE],
  defaultRank: RANK,
  createRenderer: options => new GraphView(options)
};

const extension: IRenderMime.IExtension = {
  id: 'nnabla-nb:graph',
  description: 'Interactive nnabla-nb computation graphs',
  rendererFactory,
  rank: RANK,
  dataType: 'json'
};

// Fetch and compile Graphviz (WebAssembly, ~1 MB) while JupyterLab is idle, so the first graph does not wait
if (typeof window !== 'undefined') {
  const idle = window.requestIdleCallback ?? ((f: () => void) => window.setTimeout(f, 2000));
  idle(() => void loadGraphviz().catch(() => undefined));
}

export default extension;
