// Debian's Chromium driven by playwright-core, launched the same way for every browser test.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

if (!fs.existsSync(path.join(here, 'node_modules', 'playwright-core', 'package.json'))) {
  throw new Error(
    `playwright-core is missing: ${path.join(here, 'node_modules')} does not have it. ` +
      'Run `npm ci` in tests/e2e first (the project test script does this before ctest).',
  );
}
const { chromium } = await import('playwright-core');

export const chromiumPath = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';

// A headless Chromium without the background traffic a fresh profile would make.
export async function launchChromium() {
  assert.ok(fs.existsSync(chromiumPath), `Chromium not found at ${chromiumPath} (apt-get install chromium)`);
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    timeout: 30_000,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}
