import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageFromHttpBody } from './http-body.js';
import { isFacerecError } from '../errors.js';

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);

function multipart(parts: { name: string; filename?: string; type?: string; data: Buffer }[]): { contentType: string; data: Buffer } {
  const boundary = '----facerec-test-boundary';
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename ? `; filename="${part.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.type ? `Content-Type: ${part.type}\r\n` : ''}\r\n`));
    chunks.push(part.data, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, data: Buffer.concat(chunks) };
}

const rejectsWith = (promise: Promise<unknown>, pattern: RegExp) =>
  assert.rejects(promise, (error: unknown) => isFacerecError(error, 'INVALID_ARGUMENT') && pattern.test(error.message));

test('raw image bodies pass through unchanged', async () => {
  assert.deepEqual(await imageFromHttpBody({ contentType: 'image/jpeg', data: JPEG }), JPEG);
  assert.deepEqual(await imageFromHttpBody({ contentType: 'image/png; charset=binary', data: JPEG }), JPEG);
  assert.deepEqual(await imageFromHttpBody({ contentType: 'application/octet-stream', data: JPEG }), JPEG);
});

test('multipart takes the field named file and ignores others', async () => {
  const body = multipart([
    { name: 'note', data: Buffer.from('hello') },
    { name: 'other', filename: 'x.jpg', type: 'image/jpeg', data: Buffer.from('not me') },
    { name: 'file', filename: 'photo.jpg', type: 'image/jpeg', data: JPEG },
  ]);
  assert.deepEqual(await imageFromHttpBody(body), JPEG);
});

test('multipart without a file field is INVALID_ARGUMENT', async () => {
  await rejectsWith(imageFromHttpBody(multipart([{ name: 'image', filename: 'a.jpg', data: JPEG }])), /no file field "file"/);
});

test('multipart without a boundary is INVALID_ARGUMENT', async () => {
  await rejectsWith(imageFromHttpBody({ contentType: 'multipart/form-data', data: JPEG }), /malformed multipart/);
});

test('other media types are INVALID_ARGUMENT "unsupported media type"', async () => {
  await rejectsWith(imageFromHttpBody({ contentType: 'text/plain', data: JPEG }), /unsupported media type "text\/plain"/);
  await rejectsWith(imageFromHttpBody({ contentType: 'application/json', data: JPEG }), /unsupported media type/);
  await rejectsWith(imageFromHttpBody({ contentType: '', data: JPEG }), /unsupported media type "\(none\)"/);
});

test('an empty file field yields an empty buffer (the pipeline reports IMAGE_EMPTY)', async () => {
  assert.equal((await imageFromHttpBody(multipart([{ name: 'file', filename: 'a.jpg', data: Buffer.alloc(0) }]))).length, 0);
});
