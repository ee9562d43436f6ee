/**
 * Writes the suite's image sets to a folder, so that other programs (the
 * peer libraries, `bench:load --images`) can read the very same files:
 *
 *   <out>/peers/  the first --group photos of test/photos as they are, plus
 *                 --portraits 250×250 one-face portraits, cut as bench:load
 *                 cuts them (bench/load/inputs.ts)
 *   <out>/small/  --small 640×480 one-face JPEGs, cut as bench:pipeline cuts
 *                 them (bench/pipeline-inputs.ts)
 *
 *   npx tsx bench/suite/write-images.ts --out <dir> [--group 6] [--portraits 16] [--small 12]
 *
 * Prints {"peers": n, "small": n} when done. Faces are found with a direct
 * (unbatched) pipeline in this process.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { openPipeline } from '../../src/cli/open-pipeline.js';
import { portraitsWithoutServer } from '../ceiling.js';
import { groupPhotos, oneFaceImages } from '../pipeline-inputs.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    group: { type: 'string', default: '6' },
    portraits: { type: 'string', default: '16' },
    small: { type: 'string', default: '12' },
  },
});
if (!values.out) throw new Error('--out <dir> is required');

const peersDir = join(values.out, 'peers');
const smallDir = join(values.out, 'small');
mkdirSync(peersDir, { recursive: true });
mkdirSync(smallDir, { recursive: true });
const numbered = (prefix: string, i: number) => `${prefix}-${String(i + 1).padStart(2, '0')}.jpg`;

const photos = groupPhotos().slice(0, Number(values.group));
for (const photo of photos) writeFileSync(join(peersDir, photo.name), photo.bytes);
// The portraits come from all six photos, as bench:load's do, whatever --group says.
const portraits = await portraitsWithoutServer(Number(values.portraits));
portraits.forEach((bytes, i) => writeFileSync(join(peersDir, numbered('portrait', i)), bytes));

const opened = await openPipeline(loadConfig({ env: {} }));
try {
  const small = await oneFaceImages(opened.pipeline, groupPhotos(), Number(values.small));
  small.forEach((image, i) => writeFileSync(join(smallDir, numbered('small', i)), image.bytes));
  console.log(JSON.stringify({ peers: photos.length + portraits.length, small: small.length }));
} finally {
  await opened.close();
}
