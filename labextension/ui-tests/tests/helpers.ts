import { Page } from '@playwright/test';

/** Where the browser tests leave their screenshots and exported files (kept as artifacts). */
export const SHOTS = 'ui-tests/test-results';

/** Open a notebook from JupyterLab's root; `run` executes every cell in the kernel and waits until they ran. */
export async function openNotebook(page: Page, name: string, run: boolean): Promise<void> {
  await page.goto(`/lab/tree/${name}?reset`);
  await page.waitForFunction(() => (window as any).jupyterapp?.shell?.currentWidget?.content?.widgets?.length > 0, null, {
    timeout: 60_000
  });
  if (run) {
    await page.evaluate(async () => {
      const app = (window as any).jupyterapp;
      await app.shell.currentWidget.sessionContext.ready;
      await app.commands.execute('notebook:run-all-cells');
    });
  }
}

/** A notebook of code cells, unexecuted, as the contents API takes it (PUT /api/contents/NAME). */
export function codeNotebook(sources: string[]): object {
  return {
    type: 'notebook',
    format: 'json',
    content: {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      cells: sources.map((source, i) => ({
        cell_type: 'code',
        id: `cell${i}`,
        source,
        metadata: {},
        outputs: [],
        execution_count: null
      }))
    }
  };
}
