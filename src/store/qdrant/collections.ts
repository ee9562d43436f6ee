import type { QdrantClient } from '@qdrant/js-client-rest';

import { FacerecError } from '../../errors.js';

export function subjectsCollectionOf(collection: string): string {
  return `${collection}_subjects`;
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
 * Creates the faces and subjects collections when missing and checks an
 * existing one's vector size. Never drops or recreates: the seed system's
 * `recreate_collection` wiped the gallery on every start.
 */
export async function ensureCollections(client: QdrantClient, collection: string, dimension: number): Promise<void> {
  const createdFaces = await createIfMissing(client, collection, () =>
    client.createCollection(collection, { vectors: { size: dimension, distance: 'Cosine' } }),
  );
  if (!createdFaces) {
    const info = await client.getCollection(collection);
    const vectors = info.config.params.vectors as { size?: number } | undefined;
    if (vectors?.size !== undefined && vectors.size !== dimension) {
      throw new FacerecError('STORE_CORRUPT', `Qdrant collection ${collection} holds ${vectors.size}-d vectors, expected ${dimension}`);
    }
  }
  const subjects = subjectsCollectionOf(collection);
  await createIfMissing(client, subjects, () => client.createCollection(subjects, { vectors: { size: 1, distance: 'Dot' } }));
  // Creating an existing payload index is a no-op in Qdrant, so this is safe on every start.
  await client.createPayloadIndex(collection, { field_name: 'subject_id', field_schema: 'keyword', wait: true });
  await client.createPayloadIndex(subjects, { field_name: 'subject_id', field_schema: 'keyword', wait: true });
}
