/**
 * `facerec watch` on a real video file: the door video (A alone, A and B, B
 * alone, nobody) built by the real ffmpeg from the test photos, sent to the
 * real server with both people enrolled; and sources that cannot be opened.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { runCli } from '../src/cli/main.js';
import { FacePolicy } from '../src/gen/facerec/v1/facerec.js';
import { doorScript, personPhoto, renderFrames, writeVideo } from './support/camera-video.js';
import { call, startTestServer, type TestServer } from './support/facerec-server.js';

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, stdout: out, stderr: err.join('\n') };
}

async function metric(server: TestServer, name: string): Promise<number> {
  const line = (await server.app.metrics.scrape()).split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

const PER = 8;
const MAX_MISSED = 3;

describe('facerec watch', () => {
  let server: TestServer;
  let video: Awaited<ReturnType<typeof writeVideo>>;
  let crops: string;
  before(async () => {
    server = await startTestServer({ stream: { trackMaxMissedFrames: MAX_MISSED } });
    for (const [subjectId, person] of [['ada', 'a'], ['bob', 'b']] as const) {
      await call(server.client.enrollFace, server.client, { subjectId, image: await personPhoto(person), payload: { name: subjectId.toUpperCase() }, facePolicy: FacePolicy.FACE_POLICY_LARGEST });
    }
    video = await writeVideo(await renderFrames(doorScript(PER)), 10);
    crops = await mkdtemp(join(tmpdir(), 'facerec-crops-'));
  });
  after(async () => {
    await server.stop();
    await video.remove();
    await rm(crops, { recursive: true, force: true });
  });

  it('reports who came and went, once per person, with embeddings well below frames × faces', async () => {
    const { code, stdout, stderr } = await cli('watch', video.path, '--server', `127.0.0.1:${server.app.grpcPort}`, '--fps', '10', '--camera', 'door', '--save-crops', crops);
    assert.equal(code, 0, stderr);
    const events = stdout.map((line) => JSON.parse(line) as { type: string; track: number; sequence: number; subject?: string; frames?: number; crop?: string });
    const summary = events.map((e) => [e.type, e.subject ?? null]);
    assert.deepEqual(summary, [
      ['TRACK_STARTED', null],
      ['TRACK_IDENTIFIED', 'ada'],
      ['TRACK_STARTED', null],
      ['TRACK_IDENTIFIED', 'bob'],
      ['TRACK_ENDED', 'ada'],
      ['TRACK_ENDED', 'bob'],
    ]);
    const [adaStart, , bobStart, bobIdentified, adaEnd, bobEnd] = events;
    assert.notEqual(adaStart!.track, bobStart!.track);
    assert.equal(adaStart!.sequence, 0);
    assert.equal(bobStart!.sequence, PER);
    assert.equal(bobIdentified!.track, bobStart!.track);
    assert.equal(adaEnd!.sequence, 2 * PER + MAX_MISSED);
    assert.equal(bobEnd!.sequence, 3 * PER + MAX_MISSED);
    assert.deepEqual([adaEnd!.frames, bobEnd!.frames], [2 * PER, 2 * PER]);

    // Every frame of the video was processed (and answered: the client waits for the final result).
    const frames = 4 * PER - 2;
    assert.equal(await metric(server, 'facerec_stream_frames_total{outcome="processed"}'), frames);
    const faceFrames = await metric(server, 'facerec_stream_face_frames_total');
    const embeddings = await metric(server, 'facerec_stream_embeddings_total');
    assert.equal(faceFrames, 4 * PER);
    assert.ok(embeddings <= 0.4 * faceFrames, `${embeddings} embeddings for ${faceFrames} face-frames`);

    // --save-crops: the best crop of each identified track.
    const files = (await readdir(crops)).sort();
    assert.deepEqual(files, [`door-ada-track${adaStart!.track}.jpg`, `door-bob-track${bobStart!.track}.jpg`]);
    assert.equal((await sharp(join(crops, files[0]!)).metadata()).format, 'jpeg');
  });

  it('exits non-zero with a clear message when the source cannot be opened', async () => {
    const missing = await cli('watch', '/no/such/video.mp4', '--server', `127.0.0.1:${server.app.grpcPort}`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /SOURCE_UNAVAILABLE.*no such video file/);
    // Port 9 (discard) has nothing listening on loopback: the camera cannot be opened.
    const refused = await cli('watch', 'rtsp://127.0.0.1:9/cam', '--server', `127.0.0.1:${server.app.grpcPort}`);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /SOURCE_UNAVAILABLE: video source cannot be opened or read: rtsp:/);
  });

  it('refuses bad flags as usage errors', async () => {
    const bad = await cli('watch', video.path, '--fps', 'fast');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--fps must be a positive number/);
  });
});
