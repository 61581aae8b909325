// Renders public/icon.svg into the PNG icons the manifest lists, with Debian's Chromium.
// Run after changing the SVG: node scripts/icons.mjs

import { readFileSync } from 'node:fs';
import { launchBrowser } from '../tests/e2e/harness.mjs';

const svg = readFileSync(new URL('../public/icon.svg', import.meta.url), 'utf8');
const browser = await launchBrowser();
for (const size of [192, 512]) {
  const page = await browser.newPage({ viewport: { width: size, height: size } });
  await page.setContent(`<body style="margin:0">${svg.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body>`);
  await page.screenshot({ path: new URL(`../public/icon-${size}.png`, import.meta.url).pathname, omitBackground: true });
  await page.close();
}
await browser.close();
