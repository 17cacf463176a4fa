import { expect, Page, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { openNotebook, SHOTS } from './helpers';

async function visibleNodes(page: Page, view = page.locator('.jp-NNablaGraph').first()): Promise<number> {
  await expect(view).toHaveAttribute('data-state', 'ready');
  return view.locator('.jp-NNablaGraph-node').count();
}

test.describe('graph view (small network)', () => {
  test('renders, shows details, folds, searches, exports', async ({ page }) => {
    await openNotebook(page, 'graph_small.ipynb', true);
    const view = page.locator('.jp-NNablaGraph').first();
    await expect(view).toHaveAttribute('data-state', 'ready', { timeout: 90_000 });
    // x, 2x(W, b, Affine, out), ReLU, its output, Mean, loss
    expect(await visibleNodes(page, view)).toBe(13);
    expect(await view.locator('.jp-NNablaGraph-node--function').count()).toBe(4);
    expect(await view.locator('.jp-NNablaGraph-node--parameter').count()).toBe(4);
    expect(await view.locator('.jp-NNablaGraph-cluster').count()).toBe(5); // net, net/fc1, net/fc2, .../affine
    // our renderer, not the kit's HTML fallback
    const firstCell = page.locator('.jp-CodeCell').first();
    await expect(firstCell.locator('.jp-NNablaGraph')).toHaveCount(1);
    await expect(firstCell.locator('.jp-RenderedHTMLCommon')).toHaveCount(0);
    await view.screenshot({ path: `${SHOTS}/small-expanded.png` });

    // details of fc1's weight
    await view.locator('[data-node="n1"]').click();
    const details = view.locator('.jp-NNablaGraph-details');
    await expect(details).toBeVisible();
    await expect(details.locator('h3')).toHaveText('net/fc1/affine/W');
    await expect(details.locator('tr[data-field="shape"] td')).toHaveText('(3, 4)');
    await expect(details.locator('tr[data-field="dtype"] td')).toHaveText('float32');
    await expect(details.locator('img.jp-NNablaGraph-heatmap')).toHaveCount(1);
    await expect(details.locator('.jp-NNablaGraph-stats tr[data-field="size"] td').first()).toHaveText('12');
    await view.screenshot({ path: `${SHOTS}/small-details.png` });

    // a variable's parent function and args
    await view.locator('[data-node="n4"]').click();
    await expect(details.locator('tr[data-field="shape"] td')).toHaveText('(2, 4)');
    await expect(details.locator('tr[data-field="function"] td')).toHaveText('Affine');
    await expect(details.locator('tr[data-field="base_axis"] td')).toHaveText('1');

    // fold net/fc1 by clicking its cluster label, unfold by clicking the group node
    await view.locator('.jp-NNablaGraph-cluster[data-scope="net/fc1"] > text').click();
    await expect(view.locator('.jp-NNablaGraph-node')).toHaveCount(11);
    await expect(view.locator('.jp-NNablaGraph-node--group')).toHaveCount(1);
    await view.locator('.jp-NNablaGraph-cluster[data-scope="net"] > text').click();
    await expect(view.locator('.jp-NNablaGraph-node')).toHaveCount(5);
    await view.screenshot({ path: `${SHOTS}/small-folded.png` });
    // unfolding net keeps net/fc1 as the user left it: folded
    await view.locator('.jp-NNablaGraph-node--group').click();
    await expect(view.locator('.jp-NNablaGraph-node')).toHaveCount(11);
    await view.locator('.jp-NNablaGraph-node--group').click();
    await expect(view.locator('.jp-NNablaGraph-node')).toHaveCount(13);

    // search highlights by name
    await view.locator('.jp-NNablaGraph-search').fill('affine/W');
    await expect(view.locator('.jp-NNablaGraph-node.jp-mod-match')).toHaveCount(2);
    await expect(view.locator('.jp-NNablaGraph-count')).toHaveText('2 found');
    await view.locator('.jp-NNablaGraph-search').fill('');
    await expect(view.locator('.jp-NNablaGraph-node.jp-mod-match')).toHaveCount(0);

    // pan and zoom change the viewport transform
    const viewport = view.locator('.jp-NNablaGraph-viewport');
    const before = await viewport.getAttribute('transform');
    const box = (await view.locator('.jp-NNablaGraph-canvas').boundingBox())!;
    await page.mouse.move(box.x + 10, box.y + 10);
    await page.keyboard.down('Control'); // the wheel alone scrolls the notebook (lesson.spec.ts checks it)
    await page.mouse.wheel(0, -300);
    await page.keyboard.up('Control');
    await expect(viewport).not.toHaveAttribute('transform', before!);
    const zoomed = await viewport.getAttribute('transform');
    await page.mouse.down();
    await page.mouse.move(box.x + 60, box.y + 40, { steps: 5 });
    await page.mouse.up();
    await expect(viewport).not.toHaveAttribute('transform', zoomed!);
    await view.getByRole('button', { name: 'Fit', exact: true }).click();
    await expect(viewport).toHaveAttribute('transform', before!);

    // export the current view as an SVG download
    const download = page.waitForEvent('download');
    await view.getByRole('button', { name: 'Export SVG', exact: true }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe('nnabla-graph.svg');
    await file.saveAs(`${SHOTS}/small-export.svg`);
    const svg = readFileSync(`${SHOTS}/small-export.svg`, 'utf8');
    expect(svg).toContain('<svg');
    expect(svg).toContain('Affine');
    expect(svg).not.toContain('var(--jp');

    // the zero-gradient graph is flagged
    const second = page.locator('.jp-NNablaGraph').nth(1);
    await expect(second).toHaveAttribute('data-state', 'ready');
    expect(await second.locator('.jp-NNablaGraph-flag-zero.jp-NNablaGraph-node').count()).toBeGreaterThan(0);
    await expect(second.locator('.jp-NNablaGraph-badge.jp-NNablaGraph-flag-zero')).toHaveCount(1);
    await second.scrollIntoViewIfNeeded();
    await second.screenshot({ path: `${SHOTS}/small-zero-grad.png` });

    // the kit's progress widget (ipywidgets) renders and leaves its final static output
    const progressCell = page.locator('.jp-CodeCell').nth(2);
    await expect(progressCell.locator('.jp-OutputArea-output')).not.toHaveCount(0);
    await progressCell.scrollIntoViewIfNeeded();
    await progressCell.screenshot({ path: `${SHOTS}/small-progress-widget.png` });

    // dark theme: the same view, theme colours
    const lightBg = await view.locator('.jp-NNablaGraph-canvas').evaluate(el => getComputedStyle(el).backgroundColor);
    await page.evaluate(() => (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Dark' }));
    await expect
      .poll(() => view.locator('.jp-NNablaGraph-canvas').evaluate(el => getComputedStyle(el).backgroundColor))
      .not.toBe(lightBg);
    await view.scrollIntoViewIfNeeded();
    await view.screenshot({ path: `${SHOTS}/small-dark.png` });
    await page.evaluate(() => (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Light' }));
  });

  test('renders in an untrusted notebook reopened from disk', async ({ page }) => {
    await openNotebook(page, 'graph_saved.ipynb', false);
    const view = page.locator('.jp-NNablaGraph').first();
    await expect(view).toHaveAttribute('data-state', 'ready');
    expect(await visibleNodes(page, view)).toBe(13);
    const trusted = await page.evaluate(
      () => (window as any).jupyterapp.shell.currentWidget.content.model.cells.get(0).trusted
    );
    expect(trusted).toBe(false);
    await view.screenshot({ path: `${SHOTS}/saved-untrusted.png` });
  });
});

test.describe("the kit's HTML form without the extension", () => {
  test('shows the SVG picture (a data-URI <img>) in an untrusted notebook', async ({ page }) => {
    await openNotebook(page, 'graph_static.ipynb', false);
    const html = page.locator('.jp-RenderedHTMLCommon').first();
    await expect(html).toContainText('nnabla graph: 4 functions');
    const img = html.locator('img').first();
    await expect(img).toHaveAttribute('src', /^data:image\/svg\+xml,/);
    // the sanitizer kept it and the browser decoded it: a picture of the graph's size, not a broken image
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBeGreaterThan(300);
    await html.screenshot({ path: `${SHOTS}/static-html-untrusted.png` });
  });
});

test.describe('graph view (1,000 functions)', () => {
  test('becomes interactive quickly, collapsed and expanded', async ({ page }) => {
    await openNotebook(page, 'graph_large.ipynb', true);
    const view = page.locator('.jp-NNablaGraph').first();
    await expect(view).toHaveAttribute('data-state', 'ready', { timeout: 150_000 });
    const collapsedMs = Number(await view.getAttribute('data-render-ms'));
    const collapsedNodes = Number(await view.getAttribute('data-visible-nodes'));
    const collapsedTiming = await view.getAttribute('data-timing');
    await view.screenshot({ path: `${SHOTS}/large-collapsed.png` });

    // Unfold all: time from the click until the new drawing has been painted
    const expanded = await view.evaluate(async el => {
      const button = [...el.querySelectorAll('button')].find(b => b.textContent === 'Unfold all')!;
      const start = performance.now();
      const ready = new Promise<void>(resolve => {
        const obs = new MutationObserver(() => {
          if ((el as HTMLElement).dataset.state === 'ready') {
            obs.disconnect();
            resolve();
          }
        });
        obs.observe(el, { attributes: true, attributeFilter: ['data-state'] });
      });
      button.click();
      await ready;
      await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
      const d = (el as HTMLElement).dataset;
      return { wallMs: performance.now() - start, renderMs: Number(d.renderMs), timing: d.timing };
    });
    const expandedNodes = Number(await view.getAttribute('data-visible-nodes'));
    await view.screenshot({ path: `${SHOTS}/large-expanded.png` });

    // Fold all again (timed the same way, from the click)
    const t0 = Date.now();
    await view.getByRole('button', { name: 'Fold all', exact: true }).click();
    await expect(view).toHaveAttribute('data-visible-nodes', String(collapsedNodes));
    const refoldMs = Date.now() - t0;

    console.log(
      `[timing] 1,000 functions: collapsed ${collapsedNodes} nodes in ${collapsedMs} ms (first render); ` +
        `expanded ${expandedNodes} nodes in ${expanded.renderMs} ms ` +
        `(${Math.round(expanded.wallMs)} ms to paint); fold all again ${refoldMs} ms\n` +
        `[timing] collapsed: ${collapsedTiming}\n[timing] expanded: ${expanded.timing}`
    );
    expect(expandedNodes).toBe(3001);
    expect(collapsedNodes).toBeLessThan(50);
    expect(collapsedMs).toBeLessThan(1000);
    expect(expanded.wallMs).toBeLessThan(3000);
  });
});
