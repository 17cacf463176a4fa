import { expect, test } from '@playwright/test';
import { codeNotebook, openNotebook, SHOTS } from './helpers';

/** Function cards: the graph's details pane shows the clicked function's card; explain shows one with its plot. */
const CELLS = [
  `import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla_nb

nn.clear_parameters()
x = nn.Variable((2, 3))
with nn.parameter_scope("<img src=x onerror=window.__xss=1>"):
    y = F.tanh(PF.affine(x, 4))
nnabla_nb.graph(y)`,
  'nnabla_nb.explain(F.tanh)',
  '%load_ext nnabla_nb\n%nnabla explain F.nope',
  'nnabla_nb.graph_diff(F.relu(F.tanh(x)), F.leaky_relu(F.tanh(x), alpha=0.2))'
];

test.describe('function cards', () => {
  test('details pane and explain show the card, light and dark', async ({ page }) => {
    await page.goto('/lab');
    const put = await page.request.put('/api/contents/cards.ipynb', { data: codeNotebook(CELLS) });
    expect(put.ok()).toBeTruthy();
    await openNotebook(page, 'cards.ipynb', true);

    const view = page.locator('.jp-NNablaGraph').first();
    await expect(view).toHaveAttribute('data-state', 'ready', { timeout: 90_000 });
    await view.locator('.jp-NNablaGraph-node--function', { hasText: 'Tanh' }).click();
    const details = view.locator('.jp-NNablaGraph-details');
    await expect(details).toBeVisible();
    const card = details.locator('.jp-NNablaGraph-card');
    await expect(card).toHaveAttribute('data-card', 'F.tanh');
    await expect(details.locator('h4').first()).toHaveText('what F.tanh computes');
    await expect(card.locator('.jp-NNablaGraph-card-meaning')).toHaveText(/Squashes any real number into \(-1, 1\)/);
    // JupyterLab's MathJax typesets both formulas in place
    await expect(card.locator('.jp-NNablaGraph-card-formula mjx-container')).toHaveCount(2);
    await view.screenshot({ path: `${SHOTS}/cards-details-light.png` });

    // the Affine node's card, in a scope named with markup: text, never HTML
    await view.locator('.jp-NNablaGraph-node--function', { hasText: 'Affine' }).click();
    await expect(card).toHaveAttribute('data-card', 'F.affine');
    await expect(details.locator('tr[data-field="scope"] td')).toHaveText('<img src=x onerror=window.__xss=1>/affine');
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();

    const explainOut = page.locator('.jp-CodeCell').nth(1).locator('.jp-OutputArea-output');
    const explained = explainOut.locator('.nnabla-nb-card');
    await expect(explained).toHaveCount(1);
    await expect(explained).toContainText('F.tanh(x): Tanh (activation)');
    await expect(explained.locator('img')).toHaveCount(1);
    expect(await explained.locator('img').evaluate(img => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await expect(explained.locator('mjx-container')).toHaveCount(2);
    await explainOut.screenshot({ path: `${SHOTS}/cards-explain-light.png` });

    const bad = page.locator('.jp-CodeCell').nth(2).locator('.jp-OutputArea-output');
    await expect(bad).toContainText("%nnabla explain: no function named 'F.nope'");

    // graph_diff: two static pictures side by side, the replaced function listed
    const diff = page.locator('.jp-CodeCell').nth(3).locator('.jp-OutputArea-output');
    await expect(diff).toContainText('1 removed, 1 added, 0 changed');
    await expect(diff.locator('img')).toHaveCount(2);
    for (const img of await diff.locator('img').all()) {
      expect(await img.evaluate(i => (i as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    }
    await diff.screenshot({ path: `${SHOTS}/cards-diff-light.png` });

    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Dark' })
    );
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'false');
    await view.locator('.jp-NNablaGraph-node--function', { hasText: 'Tanh' }).click();
    await expect(card).toHaveAttribute('data-card', 'F.tanh');
    await view.screenshot({ path: `${SHOTS}/cards-details-dark.png` });
    await explainOut.screenshot({ path: `${SHOTS}/cards-explain-dark.png` });
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Light' })
    );
  });
});
