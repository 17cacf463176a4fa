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
