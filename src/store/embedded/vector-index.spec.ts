import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { nearby, normalise, seededRandom } from '../test-vectors.js';
import { autoExpansionSearch, FlatIndex, HnswIndex } from './vector-index.js';

const DIM = 32;

function vectors(n: number, seed: number): Float32Array[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => normalise(Float32Array.from({ length: DIM }, () => random() - 0.5)));
}

test('the automatic search width is 16 up to 100k faces, 64 at 1M, and grows with the gallery', () => {
  assert.equal(autoExpansionSearch(0, 32), 16);
  assert.equal(autoExpansionSearch(100_000, 32), 16);
  assert.equal(autoExpansionSearch(1_000_000, 32), 64);
  let previous = 0;
  for (let n = 1_000; n <= 50_000_000; n *= 2) {
    const ef = autoExpansionSearch(n, 32);
    assert.ok(ef >= previous && ef <= 512, `ef ${ef} at ${n}`);
    previous = ef;
  }
  // Graphs built with the old default M 16 keep the width they always had.
  assert.equal(autoExpansionSearch(1_000_000, 16), 64);
});

test('an automatic-width search returns exactly k hits, best first, and finds the face a query was taken from', () => {
  const hnsw = new HnswIndex(DIM, { connectivity: 32, expansionAdd: 128, expansionSearch: 0 });
  const flat = new FlatIndex(DIM);
  const stored = vectors(3000, 1);
  stored.forEach((v, key) => (hnsw.add(key, v), flat.add(key, v)));
  assert.equal(hnsw.expansionSearch(), 16);
  const random = seededRandom(2);
  // A second photo of an enrolled face, as recognition sees it (cosine ≈ 0.97 to the stored one).
  for (const query of Array.from({ length: 50 }, (_, i) => nearby(stored[i * 60]!, 0.08, random))) {
    for (const k of [1, 5, 40]) {
      const hits = hnsw.search(query, k);
      assert.equal(hits.keys.length, k);
      for (let i = 1; i < k; i++) assert.ok(hits.similarities[i - 1]! >= hits.similarities[i]!);
    }
    assert.equal(hnsw.search(query, 1).keys[0], flat.search(query, 1).keys[0]);
  }
});

test('a saved index keeps the M it was built with when opened with other settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'facerec-vector-index-'));
  try {
    const built = new HnswIndex(DIM, { connectivity: 16, expansionAdd: 64, expansionSearch: 0 });
    vectors(500, 3).forEach((v, key) => built.add(key, v));
    built.save(join(dir, 'i.usearch'));
    const opened = new HnswIndex(DIM, { connectivity: 32, expansionAdd: 128, expansionSearch: 0 });
    opened.load(join(dir, 'i.usearch'));
    assert.equal(opened.connectivity(), 16);
    assert.equal(opened.expansionSearch(), 64);
    assert.equal(opened.size(), 500);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
