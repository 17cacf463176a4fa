import { expect, test } from '@playwright/test';
import { codeNotebook, openNotebook, SHOTS } from './helpers';

/** Data views: an image grid with labels, a data iterator shown without advancing it, a confusion matrix. */
const CELLS = [
  `%load_ext nnabla_nb
import numpy as np
import nnabla_nb
from nnabla.utils.data_iterator import data_iterator_simple

rng = np.random.RandomState(0)
images = rng.rand(12, 1, 8, 8).astype(np.float32)
labels = np.arange(12) % 3
nnabla_nb.show_images(images, labels=labels, classes=["<img src=x onerror=window.__xss=1>", "one", "two"])`,
  `it = data_iterator_simple(lambda i: (images[i], labels[i:i + 1]), 12, 4, shuffle=False)
before = (it.position, it.epoch)
it`,
  `print((it.position, it.epoch) == before, it.next()[1].ravel().tolist())`,
  `nnabla_nb.confusion(np.eye(3)[[0, 1, 2, 2, 1, 0]], [0, 1, 2, 1, 1, 0], classes=["a", "b", "<b>c</b>"])`
];

const output = (page: any, i: number) => page.locator('.jp-CodeCell').nth(i).locator('.jp-OutputArea-output');

async function picturesDrawn(locator: any, count: number): Promise<void> {
  await expect(locator.locator('img')).toHaveCount(count);
  for (const img of await locator.locator('img').all()) {
    expect(await img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBeGreaterThan(0);
  }
}

test.describe('data views', () => {
  test('image grid, data iterator and confusion matrix, light and dark', async ({ page }) => {
    await page.goto('/lab');
    const put = await page.request.put('/api/contents/dataviews.ipynb', { data: codeNotebook(CELLS) });
    expect(put.ok()).toBeTruthy();
    await openNotebook(page, 'dataviews.ipynb', true);

    // the grid: 12 pictures, each with its class name drawn as text (a name with markup never runs)
    const grid = output(page, 0).locator('figure');
    await expect(grid).toHaveCount(1, { timeout: 90_000 });
    await picturesDrawn(grid, 12);
    await expect(grid.locator('td div').first()).toHaveText('<img src=x onerror=window.__xss=1>');
    await expect(grid.locator('figcaption')).toContainText('(12, 1, 8, 8) float32');
    expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();

    // the iterator shows its next batch (4 images) and is still where it was
    await picturesDrawn(output(page, 1).locator('figure'), 4);
    await expect(output(page, 2)).toContainText('True [0, 1, 2, 0]');

    // the confusion matrix: a picture and the per-class table, the markup name as text
    const matrix = output(page, 3);
    await expect(matrix).toContainText('accuracy 0.8333');
    await picturesDrawn(matrix, 1);
    await expect(matrix.locator('td', { hasText: '<b>c</b>' })).toHaveCount(1);
    await expect(matrix.locator('td b')).toHaveCount(0);

    await output(page, 0).screenshot({ path: `${SHOTS}/dataviews-grid-light.png` });
    await matrix.screenshot({ path: `${SHOTS}/dataviews-confusion-light.png` });
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Dark' })
    );
    await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'false');
    await output(page, 0).screenshot({ path: `${SHOTS}/dataviews-grid-dark.png` });
    await matrix.screenshot({ path: `${SHOTS}/dataviews-confusion-dark.png` });
    await page.evaluate(() =>
      (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Light' })
    );
  });
});
