// Fails unless a screenshot shows a rendered page with the report's images drawn. Calibrated on the quickstart
// report: with its images the channel standard deviation is ~100 (black-background tiles on a light page); the same
// page with every image missing gives ~53, a blank page ~0.
import { createRequire } from 'node:module';
const require = createRequire(new URL('../packages/node/package.json', import.meta.url));
const sharp = require('sharp');
const file = process.argv[2];
const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
const stats = await sharp(file).stats();
const colours = new Set();
for (let i = 0; i < data.length; i += 3 * 7)
  colours.add((data[i] >> 3) * 1024 + (data[i + 1] >> 3) * 32 + (data[i + 2] >> 3));
const spread = Math.max(...stats.channels.slice(0, 3).map((c) => c.stdev));
console.log(`${file}: ${info.width}x${info.height}, ${colours.size} colour bins, channel stdev ${spread.toFixed(1)}`);
if (info.width < 1000 || spread < 75) {
  console.error('the screenshot looks blank or imageless: the report did not render');
  process.exit(1);
}
