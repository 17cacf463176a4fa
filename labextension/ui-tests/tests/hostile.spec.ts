import { expect, test } from '@playwright/test';
import { openNotebook, SHOTS } from './helpers';

/** graph_hostile.ipynb (make_notebooks.py `write_hostile`): saved, unsigned outputs whose every name is markup
 * that would set `window.__injected`; three broken documents, then a well-formed one and the kit's own graph. */
test.describe('a hostile graph document', () => {
  test('shows a short error, injects nothing, and the next graph still renders', async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', e => errors.push(String(e)));
    await openNotebook(page, 'graph_hostile.ipynb', false);
    const cells = page.locator('.jp-CodeCell');
    await expect(cells).toHaveCount(5);
    const refused: [number, RegExp][] = [
      [0, /^Cannot show this nnabla graph: edges\[\d+\]\.source "<img src=x onerror=.*" is no node of the graph$/],
      [1, /^Cannot show this nnabla graph: unsupported nnabla graph document version 99 \(this extension reads version 1\)$/],
      [2, /^Cannot show this nnabla graph: the edges form a cycle/]
    ];
    for (const [i, message] of refused) {
      const view = cells.nth(i).locator('.jp-NNablaGraph');
      await expect(view).toHaveAttribute('data-state', 'error');
      await expect(view.locator('.jp-NNablaGraph-error')).toHaveText(message);
      await expect(view.locator('.jp-NNablaGraph-error')).toBeVisible();
      await expect(view.locator('.jp-NNablaGraph-toolbar')).toBeHidden();
    }
    // well-formed, with markup for names: drawn, the names as text
    const named = cells.nth(3).locator('.jp-NNablaGraph');
    await expect(named).toHaveAttribute('data-state', 'ready', { timeout: 90_000 });
    await expect(named.locator('.jp-NNablaGraph-node').first()).toContainText('<img src=x');
    // the kit's own graph after them
    const good = cells.nth(4).locator('.jp-NNablaGraph');
    await expect(good).toHaveAttribute('data-state', 'ready', { timeout: 90_000 });
    await expect(good.locator('.jp-NNablaGraph-node')).toHaveCount(13);

    // nothing the documents carry became an element, and nothing ran
    const outputs = page.locator('.jp-OutputArea');
    await expect(outputs.locator('img[src="x"], script, [onerror]')).toHaveCount(0);
    expect(await page.evaluate(() => (window as any).__injected)).toBeUndefined();
    expect(errors).toEqual([]);

    await cells.nth(0).scrollIntoViewIfNeeded();
    await page.locator('.jp-Notebook').screenshot({ path: `${SHOTS}/hostile-light.png` });
    const background = () => page.locator('.jp-Notebook').evaluate(el => getComputedStyle(el).backgroundColor);
    const light = await background();
    await page.evaluate(() => (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Dark' }));
    await expect.poll(background).not.toBe(light);
    await page.locator('.jp-Notebook').screenshot({ path: `${SHOTS}/hostile-dark.png` });
    await page.evaluate(() => (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Light' }));
  });
});
