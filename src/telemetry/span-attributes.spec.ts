/**
 * What the span helpers the server is built from actually export, read back
 * from a real OTLP/gRPC receiver: the gallery spans of `traceStore` over a real
 * embedded store, and the request spans of `createSpanRunner`, with subject ids
 * kept out unless the operator turned them on. The pipeline's stage spans and
 * the server's own use of these helpers are checked end to end in
 * test/observability.test.ts.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../test/support/otlp-receiver.js';
import { loadConfig } from '../config/load.js';
import { silentLogger } from '../logger.js';
import { createVectorStore } from '../store/create-vector-store.js';
import { randomUnit, seededRandom } from '../store/test-vectors.js';
import type { VectorStore } from '../store/vector-store.js';
import { ATTR, SPAN, TRACER_NAME } from './names.js';
import { createSpanRunner, getFacerecTracer, withSpan } from './spans.js';
import { startTracing, type TracingHandle } from './tracing.js';
import { traceStore } from './traced-store.js';

describe('span attributes, exported to a real OTLP receiver', () => {
  let receiver: OtlpReceiver;
  let handle: TracingHandle;
  let dataDir: string;
  let rawStore: VectorStore;
  const random = seededRandom(5);

  before(async () => {
    receiver = await startOtlpReceiver();
    handle = startTracing({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }, exportImmediately: true });
    dataDir = await mkdtemp(join(tmpdir(), 'facerec-span-attributes-'));
    rawStore = await createVectorStore(loadConfig({ env: { DATA_DIR: dataDir } }).store, { logger: silentLogger });
  });
  after(async () => {
    await rawStore.close();
    await rm(dataDir, { recursive: true, force: true });
    await handle.shutdown();
    await receiver.close();
  });

  /** Runs fn under a root span named `root` and returns every span of that trace once exported. */
  async function spansOf(root: string, fn: () => Promise<unknown>): Promise<ReceivedSpan[]> {
    await withSpan(getFacerecTracer(), root, fn);
    await handle.forceFlush();
    const all = await receiver.waitForSpans((spans) => spans.some((s) => s.name === root));
    const traceId = all.find((s) => s.name === root)!.traceId;
    return all.filter((s) => s.traceId === traceId && s.name !== root);
  }

  const named = (spans: readonly ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

  /** Every span is one names.ts lists, and every facerec.* attribute on it too. */
  function assertListedNames(spans: readonly ReceivedSpan[]): void {
    const spanNames = new Set<string>(Object.values(SPAN));
    const attrNames = new Set<string>(Object.values(ATTR));
    for (const span of spans) {
      assert.equal(span.scope, TRACER_NAME);
      assert.ok(spanNames.has(span.name), `${span.name} is listed in SPAN`);
      for (const key of Object.keys(span.attributes)) {
        if (key.startsWith('facerec.')) assert.ok(attrNames.has(key), `${key} (on ${span.name}) is listed in ATTR`);
      }
    }
  }

  async function galleryRound(store: VectorStore, subjectId: string): Promise<void> {
    const a = randomUnit(512, random);
    const b = randomUnit(512, random);
    await store.upsertFaces([
      { faceId: `${subjectId}-1`, subjectId, embedding: a },
      { faceId: `${subjectId}-2`, subjectId, embedding: b },
    ]);
    await store.search(a, { k: 3 });
    await store.deleteFace(`${subjectId}-2`);
    await store.deleteSubject(subjectId);
  }

  it('traceStore: search, upsert and delete spans carry their counts and no subject id by default', async () => {
    const store = traceStore(rawStore, getFacerecTracer(), { subjectIds: false });
    const spans = await spansOf('gallery-private', () => galleryRound(store, 'alice'));
    assertListedNames(spans);
    const [upsert] = named(spans, SPAN.storeUpsert);
    assert.equal(upsert?.attributes[ATTR.facesCount], 2);
    const [search] = named(spans, SPAN.storeSearch);
    assert.equal(search?.attributes[ATTR.storeTopK], 3);
    assert.equal(search?.attributes[ATTR.storeMatches], 2);
    // deleteFace, then deleteSubject with the one face left.
    assert.deepEqual(named(spans, SPAN.storeDelete).map((s) => s.attributes[ATTR.facesCount]), [1, 1]);
    for (const span of spans) assert.equal(span.attributes[ATTR.subjectId], undefined, `no subject id on ${span.name}`);
  });

  it('traceStore: with subject ids turned on, upsert and subject delete name the subject', async () => {
    const store = traceStore(rawStore, getFacerecTracer(), { subjectIds: true });
    const spans = await spansOf('gallery-named', () => galleryRound(store, 'bob'));
    assertListedNames(spans);
    assert.equal(named(spans, SPAN.storeUpsert)[0]?.attributes[ATTR.subjectId], 'bob');
    // A face delete knows only the face id; the subject delete names the subject.
    assert.deepEqual(named(spans, SPAN.storeDelete).map((s) => s.attributes[ATTR.subjectId]), [undefined, 'bob']);
    assert.equal(named(spans, SPAN.storeSearch)[0]?.attributes[ATTR.subjectId], undefined);
  });

  it('createSpanRunner: keeps every attribute but the subject id, which it records only when turned on', async () => {
    const attributes = { [ATTR.ingestIndex]: 4, [ATTR.subjectId]: 'carol' };
    const spans = await spansOf('runner', async () => {
      await createSpanRunner(getFacerecTracer(), { subjectIds: false })(SPAN.ingestItem, async () => 'private', attributes);
      await createSpanRunner(getFacerecTracer(), { subjectIds: true })(SPAN.ingestItem, async () => 'named', attributes);
    });
    assertListedNames(spans);
    const items = named(spans, SPAN.ingestItem).sort((a, b) => Number(a.startTimeUnixNano - b.startTimeUnixNano));
    assert.deepEqual(items.map((s) => [s.attributes[ATTR.ingestIndex], s.attributes[ATTR.subjectId]]), [[4, undefined], [4, 'carol']]);
  });
});
