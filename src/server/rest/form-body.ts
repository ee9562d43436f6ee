/**
 * The form bodies the seed service's clients post to `/base64`: the image as
 * base64 text in the field `image_base64`, urlencoded or multipart/form-data.
 * ("The seed" is the earlier face recognition service whose REST API facerec
 * keeps; see the README's REST section.)
 *
 * This is the one place the built-in gateway does more than Envoy's
 * transcoder, which reads every `/base64` body as JSON. Accepting the form here
 * lets those clients move to facerec unchanged on a single machine; behind
 * Envoy they must send JSON (docs/rest.md says so).
 */
import busboy from 'busboy';
import type { HttpRule } from './descriptor.js';
import { GatewayError } from './http-status.js';

/** The seed's form field for the image; the request field it fills. */
export const SEED_IMAGE_FIELD = 'image_base64';
const IMAGE_FIELD = 'image';

const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data']);

/** True when `rule` is `POST /base64` and the body is a form. */
export function isSeedForm(rule: HttpRule, contentType: string): boolean {
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  return rule.pathTemplate === '/base64' && rule.verb === 'POST' && FORM_TYPES.has(mediaType);
}

/**
 * The form's fields as (request field, text) pairs, `image_base64` renamed
 * to `image`. The other fields keep their names (`top_k`, `min_similarity`…)
 * and are typed like query parameters by the transcoder.
 */
export function readSeedForm(contentType: string, body: Buffer): Promise<Array<[string, string]>> {
  return new Promise((resolve, reject) => {
    const fields: Array<[string, string]> = [];
    const fail = (message: string) => reject(new GatewayError('badRequest', message));
    let parser: busboy.Busboy;
    try {
      // The body is already in memory and within the gateway's limit, so no field needs a smaller one.
      parser = busboy({ headers: { 'content-type': contentType }, limits: { fieldSize: body.length + 1, fields: 64, files: 1 } });
    } catch (error) {
      fail(`malformed form: ${(error as Error).message}`);
      return;
    }
    const add = (name: string, value: string) => fields.push([name === SEED_IMAGE_FIELD ? IMAGE_FIELD : name, value]);
    parser.on('field', (name, value) => add(name, value));
    // `curl -F image_base64=@photo.b64` sends the text as a file part: read it as text.
    parser.on('file', (name, stream) => {
      if (name !== SEED_IMAGE_FIELD) {
        stream.on('error', () => {});
        stream.resume();
        fail(`/base64 takes the image as base64 text in the form field "${SEED_IMAGE_FIELD}"; post image files to /uploadfile (field "file")`);
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('end', () => add(name, Buffer.concat(chunks).toString('utf8')));
      stream.on('error', (error: Error) => fail(`malformed form: ${error.message}`));
    });
    parser.on('fieldsLimit', () => fail('form has more than 64 fields'));
    parser.on('error', (error: Error) => fail(`malformed form: ${error.message}`));
    parser.once('close', () => {
      if (!fields.some(([name]) => name === IMAGE_FIELD)) fail(`form has no field "${SEED_IMAGE_FIELD}"`);
      else resolve(fields);
    });
    parser.end(body);
  });
}
