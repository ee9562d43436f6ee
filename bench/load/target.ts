/**
 * The server under load, over gRPC or over REST, behind one small interface:
 * Recognize (what the load is made of) and Detect (to cut the portraits
 * from the test photos with the target's own detector, so the load
 * generator loads no model and leaves the CPU to the server).
 *
 * Every failure becomes a short, stable key for the error table: the gRPC
 * status name (`UNAVAILABLE`), `HTTP 503`, or `NETWORK` when no reply came.
 */
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { FaceRecognitionClient, type Box } from '../../src/gen/facerec/v1/facerec.js';
import type { Protocol } from './options.js';

export interface DetectedFaces {
  readonly boxes: readonly Box[];
  readonly width: number;
  readonly height: number;
}

export interface LoadTarget {
  readonly description: string;
  /** Resolves with the number of faces found; rejects with a RequestError. */
  recognize(image: Buffer): Promise<number>;
  detect(image: Buffer): Promise<DetectedFaces>;
  close(): void;
}

export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(readonly key: string, message: string) {
    super(message);
  }
}

export interface TargetOptions {
  readonly host: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly timeoutS: number;
  readonly token?: string;
}

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

function grpcTarget(options: TargetOptions): LoadTarget {
  const address = `${options.host}:${options.port}`;
  const client = new FaceRecognitionClient(address, credentials.createInsecure(), {
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  });
  const metadata = () => {
    const m = new Metadata();
    if (options.token) m.set('authorization', `Bearer ${options.token}`);
    return m;
  };
  const settle = <T>(resolve: (v: T) => void, reject: (e: Error) => void) => (error: ServiceError | null, response: T) => {
    if (error) reject(new RequestError(status[error.code] ?? `CODE ${error.code}`, error.details || error.message));
    else resolve(response);
  };
  const deadline = () => ({ deadline: new Date(Date.now() + options.timeoutS * 1000) });
  return {
    description: `gRPC ${address}`,
    recognize: (image) => new Promise<number>((resolve, reject) => {
      client.recognize({ image, topK: 1, includeEmbedding: false, filter: undefined, matchFaces: false }, metadata(), deadline(),
        settle((r) => resolve(r.faces.length), reject));
    }),
    detect: (image) => new Promise<DetectedFaces>((resolve, reject) => {
      client.detect({ image, includeEmbedding: false }, metadata(), deadline(),
        settle((r) => resolve({ boxes: r.faces.map((f) => f.box!), width: r.imageWidth, height: r.imageHeight }), reject));
    }),
    close: () => client.close(),
  };
}

function restTarget(options: TargetOptions): LoadTarget {
  const base = `http://${options.host}:${options.port}`;
  const post = async (path: string, image: Buffer): Promise<Record<string, unknown>> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
        body: JSON.stringify({ image: image.toString('base64') }),
        signal: AbortSignal.timeout(options.timeoutS * 1000),
      });
    } catch (error) {
      const e = error as Error;
      throw new RequestError(e.name === 'TimeoutError' ? 'TIMEOUT' : 'NETWORK', e.message);
    }
    const text = await res.text();
    if (!res.ok) throw new RequestError(`HTTP ${res.status}`, text.slice(0, 200));
    return JSON.parse(text) as Record<string, unknown>;
  };
  type RestFace = { box?: Box };
  return {
    description: `REST ${base}`,
    recognize: async (image) => ((await post('/base64', image)).faces as unknown[] | undefined)?.length ?? 0,
    detect: async (image) => {
      // The proto3 JSON mapping leaves out zero values: a missing coordinate is 0.
      const body = await post('/v1/detect', image);
      const faces = (body.faces as RestFace[] | undefined) ?? [];
      const boxes = faces.map(({ box }) => ({ x1: box?.x1 ?? 0, y1: box?.y1 ?? 0, x2: box?.x2 ?? 0, y2: box?.y2 ?? 0 }) as Box);
      return { boxes, width: Number(body.image_width ?? body.imageWidth ?? 0), height: Number(body.image_height ?? body.imageHeight ?? 0) };
    },
    close: () => {},
  };
}

export function connectTarget(options: TargetOptions): LoadTarget {
  return options.protocol === 'grpc' ? grpcTarget(options) : restTarget(options);
}
