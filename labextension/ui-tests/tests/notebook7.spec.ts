import { expect, test } from '@playwright/test';
import { SHOTS } from './helpers';

// the Notebook 7 server that playwright.config.ts starts beside JupyterLab
const NOTEBOOK = `http://127.0.0.1:${process.env.NB_PORT ?? 8898}`;

test.describe('Jupyter Notebook 7', () => {
  test('loads the extension and renders the interactive graph view', async ({ page }) => {
    // the small network's notebook, executed by nbconvert and reopened untrusted
    await page.goto(`${NOTEBOOK}/notebooks/graph_saved.ipynb`);
    await page.waitForFunction(() => (window as any).jupyterapp?.shell?.currentWidget?.content?.widgets?.length > 0, null, {
      timeout: 60_000
    });
    // Notebook 7's own application (not JupyterLab), with nnabla-nb among the extensions it loaded
    const app = await page.evaluate(() => {
      const config = JSON.parse(document.getElementById('jupyter-config-data')!.textContent!);
      return {
        name: (window as any).jupyterapp.name,
        appName: config.appName,
        extensions: (config.federated_extensions ?? []).map((e: { name: string }) => e.name)
      };
    });
    expect(app.name).toBe('Jupyter Notebook');
    expect(app.extensions).toContain('nnabla-nb');
    await expect(page.locator('#main-panel .jp-NotebookPanel')).toHaveCount(1);

    const view = page.locator('.jp-NNablaGraph').first();
    await expect(view).toHaveAttribute('data-state', 'ready', { timeout: 90_000 });
    await expect(view.locator('.jp-NNablaGraph-node')).toHaveCount(13);
    await expect(view.locator('.jp-NNablaGraph-node--function')).toHaveCount(4);
    await expect(page.locator('.jp-CodeCell').first().locator('.jp-RenderedHTMLCommon')).toHaveCount(0);
    // interactive there too: a click shows a node's details
    await view.locator('[data-node="n1"]').click();
    await expect(view.locator('.jp-NNablaGraph-details h3')).toHaveText('net/fc1/affine/W');
    await view.screenshot({ path: `${SHOTS}/notebook7-graph.png` });
  });
});
