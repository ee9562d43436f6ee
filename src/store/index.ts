export {
  EMBEDDING_DIM,
  type FaceInput,
  type FaceRecord,
  type ListSubjectsOptions,
  type Payload,
  type SearchMatch,
  type SearchOptions,
  type StoreStats,
  type Subject,
  type SubjectPage,
  type SubjectSummary,
  type UpsertResult,
  type VectorStore,
  type VectorStoreReader,
  type VectorStoreWriter,
} from './vector-store.js';
export { createVectorStore, type CreateVectorStoreOptions } from './create-vector-store.js';
export { EmbeddedVectorStore, type EmbeddedVectorStoreOptions } from './embedded/embedded-vector-store.js';
export { QdrantVectorStore, type QdrantVectorStoreOptions } from './qdrant/adapter.js';
export { deriveFaceId, sha256Hex } from './face-id.js';
