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
      reject(malformed(error as Error));
      return;
    }
    let fileSeen = false;
    parser.on('file', (name, stream) => {
      if (name !== UPLOAD_FIELD || fileSeen) {
        // A part we skip can still fail (a body cut off inside it): its error is
        // the parser's error too, which rejects below, so here it is only swallowed.
        stream.on('error', () => {});
        stream.resume();
        return;
      }
      fileSeen = true;
      // The answer is settled by whichever comes first: this part's end or an
      // error of the part or the parser (settling twice is a no-op).
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('end', () => resolve(Buffer.concat(chunks)));
      stream.on('error', (error: Error) => reject(malformed(error)));
    });
    parser.on('error', (error: Error) => reject(malformed(error)));
    parser.once('close', () => {
      if (!fileSeen) reject(new FacerecError('INVALID_ARGUMENT', `multipart/form-data has no file field "${UPLOAD_FIELD}"`));
    });
    parser.end(data);
  });
}

function malformed(error: Error): FacerecError {
  return new FacerecError('INVALID_ARGUMENT', `malformed multipart/form-data: ${error.message}`, { cause: error });
}
