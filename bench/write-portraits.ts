/**
 * Writes the 250×250 one-face portraits of bench:load and bench:ceiling
 * (cut from test/photos around each face facerec's detector finds, kept
 * where the cut has exactly one face) to a folder as JPEG files, so tools
 * outside this package, such as bench/peers/run.ts, can read the same images.
 *
 *   npx tsx bench/write-portraits.ts --out <dir> [--count 16]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { portraitsWithoutServer } from './ceiling.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, count: { type: 'string', default: '16' } } });
const count = Number(values.count);
if (!values.out || !Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: npx tsx bench/write-portraits.ts --out <dir> [--count 16]\n');
  process.exit(2);
}
mkdirSync(values.out, { recursive: true });
const portraits = await portraitsWithoutServer(count);
portraits.forEach((bytes, i) => writeFileSync(join(values.out!, `portrait-${String(i + 1).padStart(2, '0')}.jpg`), bytes));
process.stdout.write(`${portraits.length} portraits written to ${values.out}\n`);
