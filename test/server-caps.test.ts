/**
 * The server's caps on concurrent work and on one BulkIngest call, over a real
 * gRPC connection: refusals are RESOURCE_EXHAUSTED with a code and retry-after,
 * streams and unary calls are counted apart, and a summary stays small.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { IngestRequest, RecognizeRequest } from '../src/gen/facerec/v1/facerec.js';
import { bulkIngest, call, startTestServer, type TestServer } from './support/facerec-server.js';
import { photo } from './support/images.js';

const recognizeRequest = (image: Buffer): RecognizeRequest => ({ image, topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false });

function emptyItem(subjectId: string): IngestRequest {
  return { subjectId, image: Buffer.alloc(0), payload: undefined, facePolicy: 0 };
}

function isBusy(error: ServiceError): boolean {
  return error.code === status.RESOURCE_EXHAUSTED && error.metadata.get('facerec-error-code')[0] === 'SERVER_BUSY' && error.metadata.get('retry-after')[0] === '1';
}

describe('concurrency caps', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ server: { maxInflightRequests: 1, maxStreams: 1 } });
  });
  after(() => server.stop());

  it('refuses a stream beyond the cap while unary calls still go through', async () => {
    const open = server.client.recognizeStream();
    open.on('data', () => {});
    open.on('error', () => {});
    // The first result proves the stream holds its slot.
    open.write({ image: photo(1), cameraId: 'a', sequence: 1, topK: 1, matchFaces: false, policy: 0, timestamp: undefined });
    await new Promise((resolve) => open.once('data', resolve));

    const refused = await new Promise<ServiceError>((resolve) => {
      const second = server.client.recognizeStream();
      second.on('data', () => {});
      second.on('error', resolve);
      second.end();
    });
    assert.ok(isBusy(refused), `${status[refused.code]} ${refused.details}`);
    assert.match(refused.details, /1 streams already open/);

    const answer = await call(server.client.recognize, server.client, recognizeRequest(photo(2)));
    assert.ok(answer.faces.length > 0);

    const ingest = await bulkIngest(server, [emptyItem('x')]).catch((error: ServiceError) => error);
    assert.ok('code' in ingest && isBusy(ingest), 'BulkIngest counts as a stream');

    open.end();
    await new Promise((resolve) => open.on('end', resolve));
    // The slot is given back when the stream ends.
    assert.equal((await bulkIngest(server, [emptyItem('x')])).received, 1);
  });

  it('refuses unary calls beyond the cap with retry-after', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        call(server.client.recognize, server.client, recognizeRequest(photo(((i % 6) + 1) as 1)), new Metadata()).then(
          () => 'ok' as const,
          (error: ServiceError) => (isBusy(error) ? ('busy' as const) : error),
        ),
      ),
    );
    assert.ok(outcomes.includes('ok'));
    assert.ok(outcomes.includes('busy'));
    assert.deepEqual(outcomes.filter((o) => o !== 'ok' && o !== 'busy'), []);
  });
});

describe('BulkIngest bounds', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ server: { maxIngestItems: 150 } });
  });
  after(() => server.stop());

  it('lists the first 100 item errors in full and counts the rest', async () => {
    const summary = await bulkIngest(server, Array.from({ length: 130 }, (_, i) => emptyItem(`s${i}`)));
    assert.equal(summary.received, 130);
    assert.equal(summary.failed, 130);
    assert.equal(summary.errors.length, 100);
    assert.equal(summary.errorsOmitted, 30);
    assert.deepEqual(summary.errors.map((e) => e.index), Array.from({ length: 100 }, (_, i) => i));
    assert.equal(summary.errors[0]!.codeName, 'INVALID_ARGUMENT');
  });

  it('ends a call that sends more than the configured items with STREAM_TOO_LONG', async () => {
    const error = (await bulkIngest(server, Array.from({ length: 151 }, () => emptyItem('t'))).catch((e: ServiceError) => e)) as ServiceError;
    assert.equal(error.code, status.RESOURCE_EXHAUSTED);
    assert.equal(error.metadata.get('facerec-error-code')[0], 'STREAM_TOO_LONG');
    assert.match(error.details, /at most 150 items/);
  });
});
