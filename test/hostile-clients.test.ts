/**
 * Abusive and careless clients against the real server process: cut-off and
 * malformed uploads, calls cancelled mid-flight, connections dropped while
 * the server writes, clients that never read. Each must get a typed error or
 * a clean end; afterwards the same process (same PID) still answers, its
 * stream gauge is back to 0, and its log shows no stray failure.
 */
import assert from 'node:assert/strict';
import { connect as connectHttp2, constants as h2 } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Frame, FrameResult, IngestRequest, RecognizeRequest } from '../src/gen/facerec/v1/facerec.js';
import { HttpBody } from '../src/gen/google/api/httpbody.js';
import { call } from './support/facerec-server.js';
import { photo } from './support/images.js';
import { metricValue, startServerProcess, type ServerProcess } from './support/server-process.js';

const STREAM_WRITE_TIMEOUT_MS = 1500;

/** One gRPC message as it travels on the wire: flag, length, bytes. */
function grpcFrame(message: Uint8Array): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** A raw HTTP/2 gRPC call, for what generated clients cannot do (cut a message in half, never read). */
function rawGrpc(server: ServerProcess, method: string, settings: { initialWindowSize?: number } = {}) {
  const session = connectHttp2(`http://127.0.0.1:${server.grpcPort}`, { settings });
  session.on('error', () => {});
  const stream = session.request({
    [h2.HTTP2_HEADER_METHOD]: 'POST',
    [h2.HTTP2_HEADER_PATH]: `/facerec.v1.FaceRecognition/${method}`,
    [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
    te: 'trailers',
  });
  stream.on('error', () => {});
  return { session, stream };
}

function multipart(body: string): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=XX' }, body };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('hostile clients', () => {
  let server: ServerProcess;
  let pid: number;
  before(async () => {
    server = await startServerProcess({ env: { FACEREC_SERVER__STREAM_WRITE_TIMEOUT_MS: String(STREAM_WRITE_TIMEOUT_MS) } });
    pid = server.pid;
  });
  after(() => server.stop());

  const recognizeRequest = (image: Buffer): RecognizeRequest => ({ image, topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false });

  describe('uploads', () => {
    it('answers a multipart body cut off inside a part other than the file with 400', async () => {
      const cut = '--XX\r\nContent-Disposition: form-data; name="note"; filename="n.txt"\r\n\r\nhello';
      const response = await fetch(`${server.restUrl}/uploadfile`, multipart(cut));
      assert.equal(response.status, 400);
      assert.match(((await response.json()) as { message: string }).message, /malformed multipart/);
    });

    it('answers the same cut-off body through gRPC RecognizeUpload with INVALID_ARGUMENT', async () => {
      const body: HttpBody = { contentType: "multipart/form-data; boundary=XX", data: Buffer.from('--XX\r\nContent-Disposition: form-data; name="note"; filename="n.txt"\r\n\r\nhello'), extensions: [] };
      await assert.rejects(call(server.client.recognizeUpload, server.client, body), (e: ServiceError) => e.code === status.INVALID_ARGUMENT);
    });

    it('answers other malformed multipart bodies with 400', async () => {
      const jpeg = photo(1).toString('latin1');
      const bodies = [
        'not multipart at all',
        '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n' + jpeg.slice(0, 500),
        '--XX\r\nContent-Disposition: form-data; name="file"\r\n\r\n',
        '--XX\r\n\r\n\r\n--XX--',
        '--XX\r\nContent-Disposition: form-data; name="a"; filename="a"\r\n\r\nx\r\n--XX\r\nContent-Disposition: form-data; name="b"; filename="b"\r\n\r\ny',
      ];
      for (const body of bodies) {
        const response = await fetch(`${server.restUrl}/uploadfile`, multipart(body));
        assert.equal(response.status, 400, body.slice(0, 60));
      }
      const noBoundary = await fetch(`${server.restUrl}/uploadfile`, { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'x' });
      assert.equal(noBoundary.status, 400);
    });

    it('survives REST bodies cut off mid-upload', async () => {
      for (const path of ['/uploadfile', '/base64', '/v1/recognize']) {
        await new Promise<void>((resolve) => {
          const socket = connectTcp(Number(new URL(server.restUrl).port), '127.0.0.1', () => {
            socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: 100000\r\n\r\n--XX\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n`);
            socket.write(photo(2).subarray(0, 2000), () => setTimeout(() => socket.destroy(), 20));
          });
          socket.on('error', () => {});
          socket.on('close', () => resolve());
        });
      }
    });

    it('survives a gRPC message cut off mid-upload', async () => {
      const message = RecognizeRequest.encode(recognizeRequest(photo(3))).finish();
      const { session, stream } = rawGrpc(server, 'Recognize');
      stream.write(grpcFrame(message).subarray(0, 5 + message.length / 2));
      await sleep(50);
      stream.close(h2.NGHTTP2_CANCEL);
      session.destroy();
      // Same again, with the connection dropped instead of the stream reset.
      const second = rawGrpc(server, 'Recognize');
      second.stream.write(grpcFrame(message).subarray(0, 1000));
      await sleep(50);
      second.session.destroy();
    });
  });

  describe('cancelled calls', () => {
    it('survives RecognizeStream cancelled with frames in flight', async () => {
      for (let round = 0; round < 3; round++) {
        const stream = server.client.recognizeStream();
        const ended = new Promise<ServiceError | undefined>((resolve) => {
          stream.on('error', (error: ServiceError) => resolve(error));
          stream.on('end', () => resolve(undefined));
        });
        stream.on('data', () => {});
        stream.write({ image: photo(4), cameraId: 'cam', sequence: 1, topK: 1, matchFaces: false, policy: 0, timestamp: undefined } as Frame);
        stream.write({ image: photo(5), cameraId: 'cam', sequence: 2, topK: 1, matchFaces: false, policy: 0, timestamp: undefined } as Frame);
        await sleep(round * 15);
        stream.cancel();
        const error = await ended;
        assert.equal(error?.code, status.CANCELLED);
      }
    });

    it('survives BulkIngest cancelled with items in flight', async () => {
      for (let round = 0; round < 3; round++) {
        const outcome = new Promise<ServiceError | null>((resolve) => {
          const stream = server.client.bulkIngest((error) => resolve(error));
          for (let i = 0; i < 6; i++) stream.write({ subjectId: `cancel-${round}`, image: photo(((i % 6) + 1) as 1), payload: undefined, facePolicy: 0 } as IngestRequest);
          setTimeout(() => stream.cancel(), round * 15);
        });
        assert.equal((await outcome)?.code, status.CANCELLED);
      }
    });

    it('survives unary calls cancelled mid-flight', async () => {
      const calls = [1, 2, 3].map(
        (n) =>
          new Promise<void>((resolve) => {
            const pending = server.client.recognize(recognizeRequest(photo(n as 1)), new Metadata(), {}, () => resolve());
            setTimeout(() => pending.cancel(), n * 5);
          }),
      );
      await Promise.all(calls);
    });
  });

  describe('connections that go away or stop reading', () => {
    it('survives a RecognizeStream connection dropped while the server writes', async () => {
      const { session, stream } = rawGrpc(server, 'RecognizeStream');
      for (let i = 0; i < 4; i++) stream.write(grpcFrame(Frame.encode({ image: photo(((i % 6) + 1) as 1), cameraId: 'drop', sequence: i, topK: 1, matchFaces: false, policy: 0, timestamp: undefined } as Frame).finish()));
      await new Promise((resolve) => stream.once('data', resolve));
      session.destroy();
      await waitFor('the stream gauge to return to 0', async () => (await metricValue(server.metricsUrl, 'facerec_active_streams')) === 0);
    });

    it('ends a stream whose client never reads, and frees it', async () => {
      // A tiny receive window: the server's replies back up after a few hundred bytes.
      const { session, stream } = rawGrpc(server, 'RecognizeStream', { initialWindowSize: 256 });
      stream.pause();
      // Empty images fail at once, so results pile up faster than any window drains.
      const empty = grpcFrame(Frame.encode({ image: new Uint8Array(0), cameraId: 'stuck', sequence: 0, topK: 1, matchFaces: false, policy: 0, timestamp: undefined } as Frame).finish());
      for (let i = 0; i < 2000; i++) stream.write(empty);
      await waitFor('the stream to open', async () => (await metricValue(server.metricsUrl, 'facerec_active_streams')) === 1);
      await waitFor('the stuck stream to be ended', async () => (await metricValue(server.metricsUrl, 'facerec_active_streams')) === 0, STREAM_WRITE_TIMEOUT_MS + 10_000);
      // Its frames are not left half-done either.
      assert.equal(await metricValue(server.metricsUrl, 'facerec_stream_frames_in_flight'), 0);
      session.destroy();
    });

    it('answers every frame of a stream whose capture timestamp is past what a Date holds', { timeout: 30_000 }, async () => {
      const { session, stream } = rawGrpc(server, 'RecognizeStream');
      const plain = (sequence: number) => Frame.encode({ image: photo(1), cameraId: 'far-future', sequence, topK: 1, matchFaces: false, policy: 0, timestamp: undefined } as Frame).finish();
      // Field 8 (timestamp) written by hand: seconds = 1e13, about 300,000 years out.
      const farFuture = new BinaryWriter().uint32((8 << 3) | 2).fork().uint32((1 << 3) | 0).int64(1e13).join().finish();
      const results: FrameResult[] = [];
      let buffered = Buffer.alloc(0);
      stream.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1)) {
          results.push(FrameResult.decode(buffered.subarray(5, 5 + buffered.readUInt32BE(1))));
          buffered = buffered.subarray(5 + buffered.readUInt32BE(1));
        }
      });
      const trailers = new Promise<Record<string, unknown>>((resolve) => stream.on('trailers', resolve));
      stream.write(grpcFrame(Buffer.concat([plain(1), farFuture])));
      for (const sequence of [2, 3]) stream.write(grpcFrame(plain(sequence)));
      stream.end();
      assert.equal((await trailers)['grpc-status'], '0');
      assert.deepEqual(results.filter((r) => !r.final).map((r) => r.sequence), [1, 2, 3]);
      // Stamped with its receive time instead, as a frame without a timestamp is.
      assert.ok(Number.isFinite(results[0]!.timestamp?.getTime()));
      session.close();
    });

    it('survives a BulkIngest connection dropped mid-stream', async () => {
      const { session, stream } = rawGrpc(server, 'BulkIngest');
      for (let i = 0; i < 3; i++) stream.write(grpcFrame(IngestRequest.encode({ subjectId: 'drop', image: photo(6), payload: undefined, facePolicy: 0 } as IngestRequest).finish()));
      await sleep(30);
      session.destroy();
    });
  });

  it('is still the same process, serving, with no stray failure in its log', async () => {
    assert.ok(server.alive(), 'the server process is still running');
    assert.equal(server.pid, pid);
    const response = await call(server.client.recognize, server.client, recognizeRequest(photo(1)));
    assert.ok(response.faces.length > 0);
    await waitFor('the stream gauge to return to 0', async () => (await metricValue(server.metricsUrl, 'facerec_active_streams')) === 0);
    const stray = server.logs.filter((line) => /unhandled|uncaught/.test(line.message));
    assert.deepEqual(stray, []);
  });
});

describe('streams stay live', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess();
  });
  after(() => server.stop());

  it('answers a single frame without waiting for the next one', async () => {
    const stream = server.client.recognizeStream();
    const first = new Promise<FrameResult>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
    });
    stream.write({ image: photo(1), cameraId: 'door', sequence: 7, topK: 1, matchFaces: false, policy: 0, timestamp: undefined } as Frame);
    const result = await first;
    assert.equal(result.sequence, 7);
    assert.ok(result.faces.length > 0);
    stream.end();
    await new Promise((resolve) => stream.on('end', resolve).resume());
  });
});

describe('a server that cannot start', () => {
  it('logs why before it exits', async () => {
    // A regular file where the data directory should be.
    await assert.rejects(startServerProcess({ dataDir: new URL(import.meta.url).pathname }), (error: Error) => {
      assert.match(error.message, /"facerec failed to start"/);
      return true;
    });
  });
});
