import type { StoreConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { EmbeddedVectorStore } from './embedded/embedded-vector-store.js';
import { QdrantVectorStore } from './qdrant/adapter.js';
import { EMBEDDING_DIM, type VectorStore } from './vector-store.js';

export interface CreateVectorStoreOptions {
  /** The server's logger: the store logs what no caller would see (background index builds and saves, backend failures). */
  readonly logger: Logger;
  readonly dimension?: number;
}

/**
 * Picks the backend from config: Qdrant when `qdrantUrl` is set, otherwise the
 * embedded gallery in `dataDir`. Rejects with STORE_LOCKED, STORE_CORRUPT or
 * STORE_UNAVAILABLE when the backend cannot be opened.
 */
export async function createVectorStore(config: StoreConfig, options: CreateVectorStoreOptions): Promise<VectorStore> {
  const dimension = options.dimension ?? EMBEDDING_DIM;
  if (config.qdrantUrl) {
    return QdrantVectorStore.connect({
      url: config.qdrantUrl,
      apiKey: config.qdrantApiKey,
      collection: config.qdrantCollection,
      shardNumber: config.qdrantShardNumber,
      replicationFactor: config.qdrantReplicationFactor,
      dimension,
      logger: options.logger,
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
    logger: options.logger,
  });
}
