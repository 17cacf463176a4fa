import { expect, test } from '@playwright/test';
import { openNotebook, SHOTS } from './helpers';

/** One look at the progress cell while the notebook runs: what its widget shows and whether the cell runs. */
interface Sample {
  running: boolean;
  count: number | null; // the N of "N/30" in the widget's status line
  bar: string | null; // the IntProgress bar's width
}

test.describe("the kit's widgets (ipywidgets, detected without widget=)", () => {
  test('parameter tree and live progress render; progress moves while the loop runs', async ({ page }) => {
    await openNotebook(page, 'widgets.ipynb', false);
    const cells = page.locator('.jp-CodeCell');
    const paramsCell = cells.nth(0);
    const progressCell = cells.nth(1);
    // the notebook's cells are attached to the page a moment after it opens
    await expect(progressCell).toBeVisible({ timeout: 30_000 });

    // run both cells and, in the page, sample the progress cell every 50 ms until it ends: what a user sees
    const sampling: Promise<Sample[]> = page.evaluate(async () => {
      const app = (window as any).jupyterapp;
      const panel = app.shell.currentWidget;
      await panel.sessionContext.ready;
      app.commands.execute('notebook:run-all-cells');
      const cell = document.querySelectorAll('.jp-CodeCell')[1];
      const seen: Sample[] = [];
      const t0 = performance.now();
      // until the final static output (its metric curves) is there
      while (!cell.querySelector('img[alt="metric curves"]') && performance.now() - t0 < 60_000) {
        const status = cell.querySelector('.widget-hprogress')?.closest('.widget-vbox')?.querySelector('.widget-html');
        const bar = cell.querySelector<HTMLElement>('.widget-hprogress .progress-bar');
        const match = status?.textContent?.match(/(\d+)\/30/);
        const running = (cell.querySelector('.jp-InputPrompt')?.textContent ?? '').includes('*');
        seen.push({ running, count: match ? Number(match[1]) : null, bar: bar ? bar.style.width : null });
        await new Promise(r => setTimeout(r, 50));
      }
      return seen;
    });
    // meanwhile, a picture of the live widget
    const liveStatus = progressCell.locator('.widget-html', { hasText: /([5-9]|\d\d)\/30/ });
    await expect(liveStatus).toBeVisible({ timeout: 60_000 });
    await progressCell.screenshot({ path: `${SHOTS}/widgets-progress-live.png` });
    const samples = await sampling;

    // the ProgressWidget (an IntProgress, a status line, the curves) moved at least twice while the cell ran
    const live = samples.filter(s => s.running && s.count !== null);
    const counts = [...new Set(live.map(s => s.count))];
    const bars = [...new Set(live.map(s => s.bar))];
    console.log(`[progress] ${samples.length} samples, ${live.length} with the widget live; counts ${counts.join(' ')}`);
    expect(counts.length).toBeGreaterThanOrEqual(3);
    expect(bars.length).toBeGreaterThanOrEqual(3);
    expect(counts).toEqual([...counts].sort((a, b) => a! - b!)); // it only moves forward
    expect(Math.max(...(counts as number[]))).toBeLessThanOrEqual(30);

    // when the loop ends the widget gives way to the final static output: bar, "done", the metric curves
    await expect(progressCell.locator('.widget-hprogress')).toHaveCount(0);
    const final = progressCell.locator('.jp-RenderedHTMLCommon');
    await expect(final).toContainText(/done: 30\/30  in [\d.]+s  \([\d.]+ it\/s\)/); // elapsed time and rate kept
    await expect(final).toContainText(/loss: [\d.]+ → [\d.]+ \(min [\d.]+, 30 values\)/);
    const curves = final.locator('img[alt="metric curves"]');
    await expect(curves).toHaveAttribute('src', /^data:image\/svg\+xml,/); // a chart with axes and a legend
    await expect.poll(() => curves.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBeGreaterThan(100);
    await progressCell.scrollIntoViewIfNeeded();
    await progressCell.screenshot({ path: `${SHOTS}/widgets-progress-final.png` });

    // the parameter tree is the ParamsTree widget (not its static HTML): scopes fold, a click shows values
    const tree = paramsCell.locator('.jupyter-widget-Accordion').first();
    await expect(tree).toBeVisible();
    await expect(paramsCell.locator('.jp-RenderedHTMLCommon details')).toHaveCount(0);
    const detail = paramsCell.locator('.widget-html-content').first();
    await expect(detail).toContainText('fc1/affine/W'); // the first parameter is shown to begin with
    const fc2W = paramsCell.locator('button[title="fc2/affine/W"]');
    await expect(fc2W).toBeHidden();
    await paramsCell.locator('.jupyter-widget-Collapse-header', { hasText: 'fc2/' }).click();
    const fc2 = paramsCell.locator('.jupyter-widget-Collapse', { has: page.locator('> .jupyter-widget-Collapse-header', { hasText: 'fc2/' }) });
    await fc2.locator('.jupyter-widget-Collapse-header', { hasText: 'affine/' }).click();
    await expect(fc2W).toBeVisible();
    await expect(fc2W).toHaveText('W (4, 1)');
    await fc2W.click();
    await expect(fc2W).toHaveClass(/mod-info/);
    await expect(detail).toContainText('fc2/affine/W');
    await expect(detail).toContainText('(4, 1) float32');
    const values = detail.locator('img[alt^="data "]');
    await expect(values).toHaveAttribute('src', /^data:image\/png;base64,/);
    await expect.poll(() => values.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBeGreaterThan(0);
    await expect(detail.locator('img[alt^="grad "]')).toHaveCount(1);
    await paramsCell.scrollIntoViewIfNeeded();
    await paramsCell.screenshot({ path: `${SHOTS}/widgets-params-tree.png` });
  });
});
