/**
 * Reads a request body up to a limit. Past the limit the rest is drained and
 * dropped rather than the socket reset, so the client reads the 413 instead of
 * a connection error.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from './http-status.js';

export function readBody(req: IncomingMessage, maxBodyBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number(req.headers['content-length'] ?? 0) > maxBodyBytes;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    req.once('end', () => {
      if (tooLarge) reject(new GatewayError('payloadTooLarge', `request body exceeds ${maxBodyBytes} bytes`));
      else resolve(Buffer.concat(chunks, size));
    });
    req.once('error', reject);
  });
}
