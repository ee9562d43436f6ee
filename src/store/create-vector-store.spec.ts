import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadConfig } from '../config/load.js';
import { isFacerecError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { createVectorStore, EmbeddedVectorStore } from './index.js';

describe('createVectorStore', () => {
  it('opens the embedded store in DATA_DIR by default, and locks it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'facerec-factory-'));
    try {
      const config = loadConfig({ env: { DATA_DIR: dataDir } });
      const store = await createVectorStore(config.store, { logger: silentLogger });
      assert.ok(store instanceof EmbeddedVectorStore);
      assert.equal((await store.stats()).dimension, 512);
      await assert.rejects(createVectorStore(config.store, { logger: silentLogger }), (err) => isFacerecError(err, 'STORE_LOCKED'));
      await store.close();
      await (await createVectorStore(config.store, { logger: silentLogger })).close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('chooses Qdrant when QDRANT_URL is set', async () => {
    const config = loadConfig({ env: { QDRANT_URL: 'http://127.0.0.1:9' } });
    await assert.rejects(createVectorStore(config.store, { logger: silentLogger }), (err) => isFacerecError(err, 'STORE_UNAVAILABLE') && /qdrant/.test(err.message));
  });
});
