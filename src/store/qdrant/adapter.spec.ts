/**
 * The contract against a real Qdrant, only when QDRANT_URL is set:
 *   docker run -p 6333:6333 qdrant/qdrant
 *   QDRANT_URL=http://localhost:6333 npm test
 * Each store gets its own throw-away collection, deleted afterwards (the
 * adapter itself never deletes a collection).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';

import { QdrantClient } from '@qdrant/js-client-rest';

import { isFacerecError } from '../../errors.js';
import { silentLogger } from '../../logger.js';
import { recordingLogger } from '../../../test/support/recording-logger.js';
import { CONTRACT_DIM, runVectorStoreContract } from '../vector-store.contract.js';
import { QdrantVectorStore } from './adapter.js';
import { subjectsCollectionOf } from './collections.js';

// Tests may read the environment; product modules take every setting from the one config.
const url = process.env.QDRANT_URL;
const apiKey = process.env.QDRANT_API_KEY;
const created = new Set<string>();
const run = randomUUID().slice(0, 8);
const connect = (collection: string) => {
  created.add(collection);
  return QdrantVectorStore.connect({ url: url!, apiKey, collection, dimension: CONTRACT_DIM, logger: silentLogger });
};

runVectorStoreContract({
  name: 'QdrantVectorStore',
  skip: url ? false : 'set QDRANT_URL to run against a real Qdrant',
  create: () => connect(`facerec_test_${randomUUID().slice(0, 8)}`),
  // A new adapter on a collection an earlier one wrote: what a restarted server finds.
  reopen: (name) => connect(`facerec_test_${run}_${name}`),
  cleanup: async () => {
    const client = new QdrantClient({ url: url!, apiKey, checkCompatibility: false });
    for (const c of created) for (const name of [c, subjectsCollectionOf(c)]) await client.deleteCollection(name).catch(() => {});
  },
});

describe('QdrantVectorStore without a server', () => {
  it('reports STORE_UNAVAILABLE when Qdrant cannot be reached, and logs the cause', async () => {
    const log = recordingLogger();
    await assert.rejects(
      QdrantVectorStore.connect({ url: 'http://127.0.0.1:9', collection: 'x', dimension: CONTRACT_DIM, logger: log.logger }),
      (err) => isFacerecError(err, 'STORE_UNAVAILABLE'),
    );
    const [failure] = log.entries.filter((e) => e.level === 'warn');
    assert.equal(failure?.message, 'store: Qdrant call failed');
    assert.equal(failure?.operation, 'connect');
    assert.match(String(failure?.cause), /fetch failed|ECONNREFUSED/);
  });
});
