import type { QdrantClient } from '@qdrant/js-client-rest';

import { FacerecError } from '../../errors.js';
import type { Logger } from '../../logger.js';

export function subjectsCollectionOf(collection: string): string {
  return `${collection}_subjects`;
}

/** One point per subject with faces: its template, the normalised mean of its faces' embeddings. */
export function templatesCollectionOf(collection: string): string {
  return `${collection}_templates`;
}

async function createIfMissing(client: QdrantClient, name: string, create: () => Promise<unknown>): Promise<boolean> {
  if ((await client.collectionExists(name)).exists) return false;
  try {
    await create();
    return true;
  } catch (err) {
    // Another replica created it between our check and our create: fine.
    if ((await client.collectionExists(name)).exists) return false;
    throw err;
  }
}

/**
 * How Qdrant spreads a collection over a cluster: `shard_number` shards, each
 * held by `replication_factor` nodes. Both apply when facerec creates a
 * collection; Qdrant keeps an existing collection's own values.
 */
export interface CollectionLayout {
  readonly shardNumber: number;
  readonly replicationFactor: number;
}

export const SINGLE_NODE_LAYOUT: CollectionLayout = { shardNumber: 1, replicationFactor: 1 };

/**
 * Creates the faces, subjects and templates collections when missing and
 * checks an existing one's vector size. Never drops or recreates: the seed
 * system's `recreate_collection` wiped the gallery on every start. Says
 * whether the templates collection is new (a gallery from before templates,
 * whose templates must then be computed from its faces).
 *
 * All three get the same layout: the subjects collection is small, but a
 * gallery whose subjects are lost with a node is lost too.
 */
export async function ensureCollections(client: QdrantClient, collection: string, dimension: number, layout: CollectionLayout, logger: Logger): Promise<{ createdTemplates: boolean }> {
  const params = { shard_number: layout.shardNumber, replication_factor: layout.replicationFactor };
  const createdFaces = await createIfMissing(client, collection, () =>
    client.createCollection(collection, { vectors: { size: dimension, distance: 'Cosine' }, ...params }),
  );
  if (!createdFaces) {
    const info = await client.getCollection(collection);
    const vectors = info.config.params.vectors as { size?: number } | undefined;
    if (vectors?.size !== undefined && vectors.size !== dimension) {
      throw new FacerecError('STORE_CORRUPT', `Qdrant collection ${collection} holds ${vectors.size}-d vectors, expected ${dimension}`);
    }
    // Not an error: the gallery works as it is, but not with the redundancy the operator asked for.
    const { shard_number: shards, replication_factor: replicas } = info.config.params;
    if ((shards !== undefined && shards !== layout.shardNumber) || (replicas !== undefined && replicas !== layout.replicationFactor)) {
      logger.warn('store: the existing Qdrant collection keeps its own layout; change it through Qdrant (replicas) or a new collection (shards)', {
        collection,
        shardNumber: shards,
        replicationFactor: replicas,
        configuredShardNumber: layout.shardNumber,
        configuredReplicationFactor: layout.replicationFactor,
      });
    }
  }
  const subjects = subjectsCollectionOf(collection);
  await createIfMissing(client, subjects, () => client.createCollection(subjects, { vectors: { size: 1, distance: 'Dot' }, ...params }));
  // Creating an existing payload index is a no-op in Qdrant, so this is safe on every start.
  await client.createPayloadIndex(collection, { field_name: 'subject_id', field_schema: 'keyword', wait: true });
  await client.createPayloadIndex(subjects, { field_name: 'subject_id', field_schema: 'keyword', wait: true });
  // Templates need their own collection: a collection's vectors (size, named vectors) cannot change once it exists.
  const templates = templatesCollectionOf(collection);
  const createdTemplates = await createIfMissing(client, templates, () => client.createCollection(templates, { vectors: { size: dimension, distance: 'Cosine' }, ...params }));
  return { createdTemplates };
}
