import { expect, Locator, Page, test } from '@playwright/test';
import { openNotebook, SHOTS } from './helpers';

/** The visualization lesson, run in JupyterLab as a student runs it: every view looked at, light and dark. */

async function runAll(page: Page): Promise<void> {
  await openNotebook(page, 'visualization.ipynb', false);
  await page.evaluate(async () => {
    const app = (window as any).jupyterapp;
    const panel = app.shell.currentWidget;
    await panel.sessionContext.ready;
    await app.commands.execute('notebook:run-all-cells');
  });
  // every code cell has run: no prompt is busy or pending, and the last cell has its output
  await expect
    .poll(
      () =>
        page.evaluate(() => {
          const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent ?? '');
          return prompts.length > 0 && prompts.every(p => /\[\d+\]/.test(p));
        }),
      { timeout: 170_000, intervals: [500] }
    )
    .toBe(true);
}

/** The smallest size (CSS px on screen) any node or cluster text of `view` is drawn at. */
function minFontPx(view: Locator): Promise<number> {
  return view.evaluate(el => {
    let min = Infinity;
    for (const t of el.querySelectorAll<SVGTextElement>('.jp-NNablaGraph-viewport text')) {
      const m = t.getScreenCTM();
      if (m) {
        min = Math.min(min, parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b));
      }
    }
    return min;
  });
}

/** Node labels wider than their shape (px), if any: the layout must size boxes in the font the browser draws. */
function overflowingLabels(view: Locator): Promise<string[]> {
  return view.evaluate(el => {
    const bad: string[] = [];
    for (const g of el.querySelectorAll<SVGGElement>('.jp-NNablaGraph-node')) {
      const shape = g.querySelector<SVGGraphicsElement>('.jp-NNablaGraph-shape')!.getBBox();
      const text = g.querySelector<SVGTextElement>('text')!.getBBox();
      if (text.width > shape.width + 0.5 || text.x < shape.x - 0.5) {
        bad.push(`${g.dataset.node}: text ${text.width.toFixed(1)} > shape ${shape.width.toFixed(1)}`);
      }
    }
    return bad;
  });
}

async function shootCells(page: Page, theme: string): Promise<number> {
  const cells = page.locator('.jp-CodeCell');
  const n = await cells.count();
  let shots = 0;
  for (let i = 0; i < n; i++) {
    const out = cells.nth(i).locator('.jp-OutputArea');
    if (!(await out.locator('.jp-OutputArea-output').count())) {
      continue;
    }
    await cells.nth(i).scrollIntoViewIfNeeded();
    await cells.nth(i).screenshot({ path: `${SHOTS}/lesson-${theme}-cell${String(i).padStart(2, '0')}.png` });
    shots++;
  }
  return shots;
}

test.describe('the visualization lesson in JupyterLab', () => {
  test('every view reads at a glance, light and dark', async ({ page }) => {
    test.setTimeout(420_000);
    await runAll(page);
    const graphs = page.locator('.jp-NNablaGraph');
    const count = await graphs.count();
    expect(count).toBeGreaterThanOrEqual(4);

    for (let i = 0; i < count; i++) {
      const view = graphs.nth(i);
      await view.scrollIntoViewIfNeeded();
      await expect(view).toHaveAttribute('data-state', 'ready', { timeout: 90_000 });
      // text never drawn below 10 px after fit, and no label wider than its box
      const px = await minFontPx(view);
      console.log(`[lesson] graph ${i}: ${await view.getAttribute('data-visible-nodes')} nodes, min text ${px.toFixed(2)} px`);
      expect.soft(px).toBeGreaterThanOrEqual(9.99);
      expect.soft(await overflowingLabels(view)).toEqual([]);
    }

    // a bundle drawn collapsed (collapse_scopes=True, %nnabla graph --collapse) opens collapsed
    const collapsedCell = page.locator('.jp-CodeCell', { hasText: 'collapse_scopes=True' });
    const collapsed = collapsedCell.locator('.jp-NNablaGraph');
    await expect(collapsed).toHaveAttribute('data-state', 'ready');
    expect(Number(await collapsed.getAttribute('data-visible-nodes'))).toBeLessThan(34);
    await expect(collapsed.locator('.jp-NNablaGraph-node--group')).not.toHaveCount(0);
    const magic = page.locator('.jp-CodeCell', { hasText: '%nnabla graph cnn_loss --collapse' }).locator('.jp-NNablaGraph');
    await expect(magic.locator('.jp-NNablaGraph-node--group')).not.toHaveCount(0);

    // search finds the loss by its Python name, and the details pane is titled with it
    const first = graphs.first();
    await first.scrollIntoViewIfNeeded();
    await first.locator('.jp-NNablaGraph-search').fill('loss');
    await expect(first.locator('.jp-NNablaGraph-node--root.jp-mod-match')).toHaveCount(1);
    await first.locator('.jp-NNablaGraph-search').press('Enter'); // brings the match into view
    await first.locator('.jp-NNablaGraph-node--root').click();
    await expect(first.locator('.jp-NNablaGraph-details h3')).toHaveText('loss');
    await first.screenshot({ path: `${SHOTS}/lesson-search-loss.png` });
    await first.locator('.jp-NNablaGraph-search').fill('');

    // the wheel over a graph scrolls the notebook and leaves the graph's zoom alone
    const view = graphs.nth(1);
    await view.scrollIntoViewIfNeeded();
    const transform = await view.locator('.jp-NNablaGraph-viewport').getAttribute('transform');
    // the notebook's scroll container: the nearest scrollable ancestor of the view
    const scrollTop = () =>
      view.evaluate(el => {
        let p = el.parentElement;
        while (p && !(p.scrollHeight > p.clientHeight && /(auto|scroll)/.test(getComputedStyle(p).overflowY))) {
          p = p.parentElement;
        }
        return p ? p.scrollTop : -1;
      });
    const top = await scrollTop();
    expect(top).toBeGreaterThanOrEqual(0);
    const box = (await view.locator('.jp-NNablaGraph-canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + Math.min(100, box.height / 2));
    await page.mouse.wheel(0, 400);
    await expect.poll(scrollTop, { timeout: 10_000 }).toBeGreaterThan(top + 100);
    await expect(view.locator('.jp-NNablaGraph-viewport')).toHaveAttribute('transform', transform!);

    const light = await shootCells(page, 'light');
    await page.evaluate(() => (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Dark' }));
    await expect
      .poll(() => page.evaluate(() => document.body.dataset.jpThemeLight))
      .toBe('false');
    await page.waitForTimeout(500);
    const dark = await shootCells(page, 'dark');
    await page.evaluate(() => (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Light' }));
    console.log(`[lesson] ${light} cells photographed in the light theme, ${dark} in the dark one`);
    expect(dark).toBe(light);
  });
});
