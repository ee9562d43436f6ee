import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { silentLogger } from '../../logger.js';
import { CONTRACT_DIM, runVectorStoreContract } from '../vector-store.contract.js';
import { EmbeddedVectorStore } from './embedded-vector-store.js';

const root = mkdtempSync(join(tmpdir(), 'facerec-store-contract-'));
let n = 0;
const hnsw = { connectivity: 16, expansionAdd: 64, expansionSearch: 64 };

for (const [mode, annThreshold] of [['exact', 1_000_000], ['hnsw', 1]] as const) {
  const open = (dataDir: string) => EmbeddedVectorStore.open({ dataDir, annThreshold, hnsw, indexSaveEveryChanges: 7, dimension: CONTRACT_DIM, logger: silentLogger });
  runVectorStoreContract({
    name: `EmbeddedVectorStore (${mode})`,
    create: async () => open(join(root, `store-${n++}`)),
    reopen: async (name) => open(join(root, `${mode}-${name}`)),
    cleanup: async () => {
      if (mode === 'hnsw') rmSync(root, { recursive: true, force: true });
    },
  });
}
