/**
 * RecognizeStream against the real server and models: tracks, identities
 * decided per track, events, the final result, selective embedding, the
 * latest-frame policy and what a stream leaves behind when it ends early.
 * The "camera" is a scripted sequence of frames made from the test photos
 * (support/camera-video.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { FacePolicy, FramePolicy, TrackEventType, type Frame, type FrameResult } from '../src/gen/facerec/v1/facerec.js';
import { call, startTestServer, type TestServer } from './support/facerec-server.js';
import { doorScript, personPhoto, renderFrames } from './support/camera-video.js';
import sharp from 'sharp';

const MAX_MISSED = 3;
const IN_FLIGHT = 2;

function frame(image: Buffer, sequence: number, policy = FramePolicy.FRAME_POLICY_PROCESS_ALL): Frame {
  return { image, cameraId: 'door', sequence, topK: 1, matchFaces: false, policy, timestamp: undefined };
}

/** Sends every frame at once, half-closes, and collects every result. */
function streamAll(server: TestServer, frames: readonly Frame[]): Promise<FrameResult[]> {
  return new Promise((resolve, reject) => {
    const out: FrameResult[] = [];
    const stream = server.client.recognizeStream();
    stream.on('data', (result: FrameResult) => out.push(result));
    stream.on('error', reject);
    stream.on('end', () => resolve(out));
    for (const f of frames) stream.write(f);
    stream.end();
  });
}

async function metric(server: TestServer, name: string, labels = ''): Promise<number> {
  const text = await server.app.metrics.scrape();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await sleep(25);
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('RecognizeStream tracking', () => {
  let server: TestServer;
  let door: Buffer[];
  before(async () => {
    server = await startTestServer({ stream: { trackMaxMissedFrames: MAX_MISSED, maxFramesInFlight: IN_FLIGHT } }, undefined, { rest: true });
    for (const [subjectId, name] of [['ada', 'Ada'], ['bob', 'Bob']] as const) {
      await call(server.client.enrollFace, server.client, { subjectId, image: await personPhoto(subjectId === 'ada' ? 'a' : 'b'), payload: { name }, facePolicy: FacePolicy.FACE_POLICY_LARGEST });
    }
    door = await renderFrames(doorScript(8));
  });
  after(() => server.stop());

  it('tracks A and B through the door video: one track each, named, with events at the right frames', async () => {
    const results = await streamAll(server, door.map((image, i) => frame(image, i)));
    const final = results.pop()!;
    assert.equal(final.final, true);
    assert.deepEqual(results.map((r) => r.sequence), door.map((_, i) => i), 'every frame answered, in order');
    assert.ok(results.every((r) => !r.error && !r.skipped));

    const trackOf = (subject: string) => new Set(results.flatMap((r) => r.faces.filter((f) => f.matches[0]?.subjectId === subject).map((f) => f.trackId)));
    const [ada, bob] = [trackOf('ada'), trackOf('bob')];
    assert.equal(ada.size, 1, 'one track for A');
    assert.equal(bob.size, 1, 'one track for B');
    const [adaTrack, bobTrack] = [[...ada][0]!, [...bob][0]!];
    assert.notEqual(adaTrack, bobTrack);
    // Every face on every frame is tracked and named (by its own embedding or its track's identity).
    const expected = [...Array(8).fill(1), ...Array(8).fill(2), ...Array(8).fill(1), ...Array(6).fill(0)];
    assert.deepEqual(results.map((r) => r.faces.length), expected);
    assert.ok(results.every((r) => r.faces.every((f) => f.trackId !== 0 && f.matches.length === 1)));

    const events = results.flatMap((r) => r.events.map((e) => ({ at: Number(r.sequence), type: e.type, track: e.trackId, subject: e.identity?.subjectId })));
    events.push(...final.events.map((e) => ({ at: -1, type: e.type, track: e.trackId, subject: e.identity?.subjectId })));
    const { TRACK_EVENT_TYPE_STARTED: STARTED, TRACK_EVENT_TYPE_IDENTIFIED: IDENTIFIED, TRACK_EVENT_TYPE_ENDED: ENDED } = TrackEventType;
    assert.deepEqual(events, [
      { at: 0, type: STARTED, track: adaTrack, subject: undefined },
      { at: 0, type: IDENTIFIED, track: adaTrack, subject: 'ada' },
      { at: 8, type: STARTED, track: bobTrack, subject: undefined },
      { at: 8, type: IDENTIFIED, track: bobTrack, subject: 'bob' },
      // Unseen from frame 16: ended once it has missed more than MAX_MISSED frames.
      { at: 16 + MAX_MISSED, type: ENDED, track: adaTrack, subject: 'ada' },
      { at: 24 + MAX_MISSED, type: ENDED, track: bobTrack, subject: 'bob' },
    ]);
    const ended = results[16 + MAX_MISSED]!.events[0]!;
    assert.equal(ended.framesSeen, 16);
    assert.ok(ended.firstSeen! <= ended.lastSeen!);
    assert.equal(results[0]!.events[1]!.identity?.payload?.['name'], 'Ada');

    const faceFrames = results.reduce((n, r) => n + r.faces.length, 0);
    const embedded = results.reduce((n, r) => n + r.faces.filter((f) => f.embedded).length, 0);
    assert.ok(embedded <= 0.4 * faceFrames, `${embedded} embeddings for ${faceFrames} face-frames`);
    assert.ok(embedded >= 2, 'each person embedded at least once');
  });

  it('answers with the final result alone when the stream had no frame', async () => {
    const results = await streamAll(server, []);
    assert.deepEqual(results.map((r) => [r.final, r.events.length]), [[true, 0]]);
  });

  it('refuses a frame that changes the policy', async () => {
    const error = await streamAll(server, [frame(door[0]!, 0, FramePolicy.FRAME_POLICY_LATEST), frame(door[1]!, 1, FramePolicy.FRAME_POLICY_PROCESS_ALL)]).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    assert.equal(error?.code, status.INVALID_ARGUMENT);
    assert.match(error!.details, /policy is fixed by the first frame/);
  });

  it('LATEST: a client sending faster than the server works gets skipped frames, and frames in flight stay within the bound', async () => {
    const frames = Array.from({ length: 40 }, (_, i) => frame(door[i % 16]!, i, FramePolicy.FRAME_POLICY_LATEST));
    let highest = 0;
    let done = false;
    const watching = (async () => {
      while (!done) {
        highest = Math.max(highest, await metric(server, 'facerec_stream_frames_in_flight'));
        await sleep(5);
      }
    })();
    const results = await streamAll(server, frames);
    done = true;
    await watching;
    const final = results.pop()!;
    assert.equal(final.final, true);
    assert.deepEqual(results.map((r) => r.sequence), frames.map((f) => f.sequence));
    const skipped = results.filter((r) => r.skipped);
    assert.ok(skipped.length > 0, 'some frames were skipped');
    assert.ok(skipped.every((r) => r.faces.length === 0));
    assert.ok(results.some((r) => !r.skipped && r.faces.length > 0));
    assert.ok(highest <= IN_FLIGHT, `at most ${IN_FLIGHT} frames in flight, saw ${highest}`);
    // The last frame is never dropped: nothing newer came to replace it.
    assert.equal(results.at(-1)!.skipped, false);
  });

  it('a stream cancelled mid-way leaves no stream or frame behind in the metrics', async () => {
    const stream: ClientDuplexStream<Frame, FrameResult> = server.client.recognizeStream();
    const ended = new Promise<ServiceError | undefined>((resolve) => {
      stream.on('error', resolve);
      stream.on('end', () => resolve(undefined));
    });
    const first = new Promise((resolve) => stream.once('data', resolve));
    for (let i = 0; i < 6; i++) stream.write(frame(door[i]!, i));
    await first;
    stream.cancel();
    assert.equal((await ended)?.code, status.CANCELLED);
    await waitFor('the stream gauges to return to 0', async () => (await metric(server, 'facerec_active_streams')) === 0 && (await metric(server, 'facerec_stream_frames_in_flight')) === 0);
  });

  it('keeps an unknown person for review once per track; enrolling makes the next stream name them; deletion removes them', async () => {
    const stranger = (await renderFrames(Array.from({ length: 6 }, () => ['c'] as const))).map((image, i) => frame(image, i));
    const reviewIdOf = (results: FrameResult[]) => {
      const ended = results.flatMap((r) => r.events).filter((e) => e.type === TrackEventType.TRACK_EVENT_TYPE_ENDED);
      assert.equal(ended.length, 1, 'one track');
      assert.equal(ended[0]!.identity, undefined, 'never identified');
      return ended[0]!.reviewId;
    };
    const first = reviewIdOf(await streamAll(server, stranger));
    const second = reviewIdOf(await streamAll(server, stranger));
    assert.ok(first && second && first !== second);

    const listed = await call(server.client.listReviewFaces, server.client, { pageSize: 0, pageToken: '' });
    assert.deepEqual(listed.faces.map((f) => f.reviewId), [second, first], 'newest first, once per track');
    const entry = listed.faces[1]!;
    assert.equal(entry.cameraId, 'door');
    assert.equal(entry.framesSeen, 6);
    assert.ok(['ada', 'bob'].includes(entry.nearestSubjectId) && entry.nearestSimilarity < server.config.pipeline.similarityThreshold);
    const crop = await sharp(entry.crop).metadata();
    assert.equal(crop.format, 'jpeg');
    assert.ok(Math.max(crop.width!, crop.height!) <= server.config.review.cropSizePx);

    // Paged, and over REST too.
    const page = await call(server.client.listReviewFaces, server.client, { pageSize: 1, pageToken: '' });
    const next = await call(server.client.listReviewFaces, server.client, { pageSize: 1, pageToken: page.nextPageToken });
    assert.deepEqual([...page.faces, ...next.faces].map((f) => f.reviewId), [second, first]);
    assert.equal(next.nextPageToken, '');
    const rest = (await (await fetch(`${server.restUrl}/v1/review/faces`)).json()) as { faces: Array<{ review_id: string }> };
    assert.deepEqual(rest.faces.map((f) => f.review_id), [second, first]);

    // Deleting one removes it; enrolling the other names the person from then on.
    const deleted = await fetch(`${server.restUrl}/v1/review/faces/${second}`, { method: 'DELETE' });
    assert.equal(deleted.status, 200);
    await assert.rejects(call(server.client.deleteReviewFace, server.client, { reviewId: second }), (e: ServiceError) => e.code === status.NOT_FOUND);
    const enrolled = await call(server.client.enrollReviewFace, server.client, { reviewId: first, subjectId: 'cyd', payload: { name: 'Cyd' } });
    assert.equal(enrolled.subjectId, 'cyd');
    assert.equal((await call(server.client.listReviewFaces, server.client, { pageSize: 0, pageToken: '' })).totalSize, 0);

    const again = await streamAll(server, stranger);
    const identified = again.flatMap((r) => r.events).filter((e) => e.type === TrackEventType.TRACK_EVENT_TYPE_IDENTIFIED);
    assert.deepEqual(identified.map((e) => [e.identity?.subjectId, e.identity?.payload?.['name']]), [['cyd', 'Cyd']]);
    assert.equal((await call(server.client.deleteAllReviewFaces, server.client, {})).deleted, 0, 'a known person is not kept');
  });
});
