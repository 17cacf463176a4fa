import { defineConfig } from '@playwright/test';

const port = Number(process.env.LAB_PORT ?? 8899);
// Jupyter Notebook 7 runs beside JupyterLab; notebook7.spec.ts reads the port from here
process.env.NB_PORT ??= '8898';
const notebookPort = Number(process.env.NB_PORT);

/** Debian's Chromium (never a downloaded browser) against JupyterLab and Notebook 7, both started by start-lab.sh. */
export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  timeout: 180_000,
  expect: { timeout: 60_000 },
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    viewport: { width: 1400, height: 1000 },
    acceptDownloads: true,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run'
      ]
    }
  },
  // a fresh venv (make test-extension) on a busy machine: the first start compiles what it imports
  webServer: [
    {
      command: 'bash start-lab.sh lab',
      url: `http://127.0.0.1:${port}/lab`,
      timeout: 300_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe'
    },
    {
      command: 'bash start-lab.sh notebook',
      url: `http://127.0.0.1:${notebookPort}/tree`,
      timeout: 300_000,
      reuseExistingServer: false,
      stdout: 'ignore',
      stderr: 'pipe'
    }
  ]
});
