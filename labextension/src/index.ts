/** nnabla-nb: the MIME renderer for `application/vnd.nnabla.graph+json` (an interactive computation graph). */

import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { loadGraphviz } from './graph/layout';
import { checkDoc, MIME_TYPE } from './graph/schema';
import { GraphView } from './graph/widget';

/** The graph view, behind a check of the document: one refused (validate.ts) or failing to draw shows a
 * short error, as text, in the output area instead; a later good document draws again. */
export class GraphRenderer extends GraphView {
  constructor(options: IRenderMime.IRendererOptions) {
    super(options);
    this._mime = options.mimeType || MIME_TYPE;
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    try {
      checkDoc(model.data[this._mime]);
      this._clearError();
      await super.renderModel(model);
    } catch (err) {
      this._showError(err instanceof Error ? err.message : String(err));
    }
  }

  private _showError(message: string): void {
    for (const child of Array.from(this.node.children)) {
      if (child !== this._error) {
        (child as HTMLElement).style.display = 'none'; // not `hidden`: the stylesheet's display would win
      }
    }
    this._error.className = 'jp-NNablaGraph-error';
    this._error.setAttribute('role', 'alert');
    Object.assign(this._error.style, {
      color: 'var(--jp-error-color1, #c62828)',
      fontFamily: 'var(--jp-code-font-family, monospace)',
      fontSize: 'var(--jp-code-font-size, 13px)',
      padding: '4px 8px',
      borderLeft: '3px solid var(--jp-error-color1, #c62828)',
      whiteSpace: 'pre-wrap',
      overflowWrap: 'anywhere'
    });
    this._error.textContent = `Cannot show this nnabla graph: ${message}`;
    this.node.append(this._error);
    this.node.dataset.state = 'error';
  }

  private _clearError(): void {
    this._error.remove();
    for (const child of Array.from(this.node.children)) {
      (child as HTMLElement).style.display = '';
    }
  }

  private _mime: string;
  private _error = document.createElement('div');
}

/** Below text/html (50): marked safe, it then wins over the kit's HTML fallback in untrusted notebooks too. */
export const RANK = 40;

export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [MIME_TYPE],
  defaultRank: RANK,
  createRenderer: options => new GraphRenderer(options)
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
