/**
 * The image inside a google.api.HttpBody, as RecognizeUpload receives it from
 * Envoy's transcoder or the built-in gateway: both pass the HTTP body through
 * unchanged, so multipart/form-data (the seed's `curl -F file=@photo.jpg`) is
 * parsed here, with busboy.
 */
import busboy from 'busboy';
import { FacerecError } from '../errors.js';

export interface HttpBodyLike {
  readonly contentType: string;
  readonly data: Uint8Array;
}

/** The multipart field that carries the image, as in the seed. */
export const UPLOAD_FIELD = 'file';

export async function imageFromHttpBody(body: HttpBodyLike): Promise<Buffer> {
  const contentType = body.contentType.trim();
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType.startsWith('image/') || mediaType === 'application/octet-stream') return Buffer.from(body.data);
  if (mediaType === 'multipart/form-data') return fileFromMultipart(contentType, Buffer.from(body.data));
  throw new FacerecError('INVALID_ARGUMENT', `unsupported media type "${mediaType || '(none)'}": send image/* or multipart/form-data with a field "${UPLOAD_FIELD}"`);
}

function fileFromMultipart(contentType: string, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { 'content-type': contentType } });
    } catch (error) {
      reject(new FacerecError('INVALID_ARGUMENT', `malformed multipart/form-data: ${(error as Error).message}`, { cause: error }));
      return;
    }
    let file: Promise<Buffer> | undefined;
    parser.on('file', (name, stream) => {
      if (name !== UPLOAD_FIELD || file) {
        stream.resume();
        return;
      }
      file = new Promise((done, fail) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.once('end', () => done(Buffer.concat(chunks)));
        stream.once('error', fail);
      });
    });
    parser.once('error', (error: Error) => reject(new FacerecError('INVALID_ARGUMENT', `malformed multipart/form-data: ${error.message}`, { cause: error })));
    parser.once('close', () => {
      if (!file) reject(new FacerecError('INVALID_ARGUMENT', `multipart/form-data has no file field "${UPLOAD_FIELD}"`));
      else file.then(resolve, reject);
    });
    parser.end(data);
  });
}
