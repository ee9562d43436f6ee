import type { StoreConfig } from '../config/schema.js';
import { EmbeddedVectorStore } from './embedded/embedded-vector-store.js';
import { QdrantVectorStore } from './qdrant/adapter.js';
import { EMBEDDING_DIM, type VectorStore } from './vector-store.js';

export interface CreateVectorStoreOptions {
  readonly dimension?: number;
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * Picks the backend from config: Qdrant when `qdrantUrl` is set, otherwise the
 * embedded gallery in `dataDir`. Rejects with STORE_LOCKED, STORE_CORRUPT or
 * STORE_UNAVAILABLE when the backend cannot be opened.
 */
export async function createVectorStore(config: StoreConfig, options: CreateVectorStoreOptions = {}): Promise<VectorStore> {
  const dimension = options.dimension ?? EMBEDDING_DIM;
  if (config.qdrantUrl) {
    return QdrantVectorStore.connect({
      url: config.qdrantUrl,
      apiKey: config.qdrantApiKey,
      collection: config.qdrantCollection,
      dimension,
    });
  }
  return EmbeddedVectorStore.open({
    dataDir: config.dataDir,
    annThreshold: config.annThreshold,
    hnsw: {
      connectivity: config.hnswConnectivity,
      expansionAdd: config.hnswExpansionAdd,
      expansionSearch: config.hnswExpansionSearch,
    },
    indexSaveEveryChanges: config.indexSaveEveryChanges,
    dimension,
    log: options.log,
  });
}
