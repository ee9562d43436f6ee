/**
 * The built-in REST gateway: what Envoy's gRPC-JSON transcoder does, in
 * process. Each HTTP request is transcoded by the google.api.http rules of the
 * descriptor set and forwarded over gRPC to the facerec server, so auth,
 * errors and behaviour are exactly the gRPC ones; only the envelope differs.
 *
 * Why a second front end beside Envoy, which deployments use and which would
 * otherwise own REST and the HTTP statuses alone: Envoy cannot run on the
 * machines that build and test facerec, and a single-machine install should
 * not need a proxy to serve the REST routes its clients already use. It stays
 * a copy of Envoy rather than a second API by reading the same descriptor and
 * using Envoy's status table (http-status.ts); envoy/envoy.yaml remains the
 * deployment path, and docs/rest.md lists where the two differ.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client, Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import type { FileRegistry } from '@bufbuild/protobuf';
import { loadDescriptorRegistry, httpRulesOf, FACEREC_SERVICE } from './descriptor.js';
import { compileRoutes, matchRoute, type Route } from './routes.js';
import { encodeRequest, decodeResponse } from './transcode.js';
import { GATEWAY_ERRORS, GatewayError, httpStatusOfGrpc, rpcStatusJson } from './http-status.js';
import { applyCors } from './cors.js';
import { readBody } from './body.js';
import { isSeedForm, readSeedForm } from './form-body.js';
import { MESSAGE_ENVELOPE_BYTES } from '../grpc-server.js';
import { describeCause } from '../status.js';
import type { Logger } from '../../logger.js';

export interface RestGatewayOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The facerec gRPC server, e.g. "127.0.0.1:50051". */
  readonly grpcTarget: string;
  /** FileDescriptorSet with the google.api.http rules (envoy/descriptor.pb). */
  readonly descriptorPath: string;
  readonly corsOrigins: readonly string[];
  readonly maxBodyBytes: number;
  /** Deadline of each forwarded RPC, in ms (`server.restRequestTimeoutMs`, as Envoy's route timeout). */
  readonly requestTimeoutMs: number;
  /** The server's logger: failures the HTTP client only sees as a status are logged here with their cause. */
  readonly logger: Logger;
}

export interface RestGateway {
  readonly port: number;
  close(): Promise<void>;
}

/** Request headers forwarded as gRPC metadata (auth and trace context). */
const FORWARDED_HEADERS = ['authorization', 'traceparent', 'tracestate', 'x-request-id'] as const;

export async function startRestGateway(options: RestGatewayOptions): Promise<RestGateway> {
  const registry = loadDescriptorRegistry(options.descriptorPath);
  const routes = compileRoutes(httpRulesOf(registry, FACEREC_SERVICE));
  // Headroom over the body limit: base64 JSON decodes smaller, HttpBody adds a few bytes.
  const maxMessageBytes = options.maxBodyBytes + MESSAGE_ENVELOPE_BYTES;
  const client = new Client(options.grpcTarget, credentials.createInsecure(), {
    'grpc.max_send_message_length': maxMessageBytes,
    'grpc.max_receive_message_length': -1,
  });
  const context: HandlerContext = { registry, routes, client, options };
  const server = createServer((req, res) => {
    handle(context, req, res).catch((error: unknown) => {
      // A bug in the gateway, not a gRPC status: the client gets a generic 500, the log gets why.
      options.logger.error('rest gateway request failed', { method: req.method, path: req.url, cause: describeCause(error) });
      if (!res.headersSent) sendStatus(res, 500, 13, 'internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Once listening, a server error (e.g. out of file descriptors on accept) would otherwise go nowhere.
  server.on('error', (error) => options.logger.error('rest gateway server error', { cause: describeCause(error) }));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        client.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface HandlerContext {
  readonly registry: FileRegistry;
  readonly routes: readonly Route[];
  readonly client: Client;
  readonly options: RestGatewayOptions;
}

async function handle(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = headerOf(req, 'x-request-id') ?? randomUUID();
  res.setHeader('x-request-id', requestId);
  if (applyCors({ origins: ctx.options.corsOrigins }, req, res)) return;
  const url = new URL(req.url ?? '/', 'http://gateway');
  try {
    const match = matchRoute(ctx.routes, req.method ?? 'GET', url.pathname);
    if (match.kind === 'not-found') throw new GatewayError('notFound', `no route for ${req.method} ${url.pathname}`);
    if (match.kind === 'method-not-allowed') {
      res.setHeader('allow', match.allowed.join(', '));
      throw new GatewayError('methodNotAllowed', `${req.method} is not allowed on ${url.pathname}`);
    }
    const body = await readBody(req, ctx.options.maxBodyBytes);
    const contentType = headerOf(req, 'content-type') ?? '';
    const form = isSeedForm(match.rule, contentType) ? await readSeedForm(contentType, body) : undefined;
    const request = encodeRequest(ctx.registry, match.rule, { contentType, body, query: url.searchParams, bindings: match.bindings, ...(form ? { form } : {}) });
    const metadata = new Metadata();
    for (const name of FORWARDED_HEADERS) {
      const value = name === 'x-request-id' ? requestId : headerOf(req, name);
      if (value !== undefined) metadata.set(name, value);
    }
    const path = `/${match.rule.method.parent.typeName}/${match.rule.method.name}`;
    const deadline = Date.now() + ctx.options.requestTimeoutMs;
    const outcome = await unaryCall(ctx.client, path, request, metadata, deadline, res);
    if ('error' in outcome) {
      // No facerec error code means the call never got an answer from facerec (it is down,
      // or the target is wrong): the gateway's own failure, which only this log explains.
      if (outcome.error.code === status.UNAVAILABLE && (outcome.error.metadata?.get('facerec-error-code') ?? []).length === 0) {
        ctx.options.logger.warn('rest gateway: facerec gRPC server unreachable', { target: ctx.options.grpcTarget, path, cause: outcome.error.details });
      }
      return sendGrpcError(res, outcome.error);
    }
    const reply = decodeResponse(ctx.registry, match.rule, outcome.response);
    res.statusCode = 200;
    res.setHeader('content-type', reply.contentType);
    res.end(reply.body);
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    const { http, grpc } = GATEWAY_ERRORS[error.kind];
    sendStatus(res, http, grpc, error.message);
  }
}

type Outcome = { response: Buffer } | { error: ServiceError };

function unaryCall(client: Client, path: string, request: Buffer, metadata: Metadata, deadline: number, res: ServerResponse): Promise<Outcome> {
  return new Promise((resolve) => {
    const call = client.makeUnaryRequest<Buffer, Buffer>(
      path,
      (b) => b,
      (b) => b,
      request,
      metadata,
      { deadline },
      (error, response) => resolve(error ? { error } : { response: response ?? Buffer.alloc(0) }),
    );
    // The HTTP client went away: cancel the RPC so the server drops the work.
    res.once('close', () => {
      if (!res.writableFinished) call.cancel();
    });
  });
}

function sendGrpcError(res: ServerResponse, error: ServiceError): void {
  const retryAfter = error.metadata?.get('retry-after')[0];
  if (retryAfter !== undefined) res.setHeader('retry-after', String(retryAfter));
  res.setHeader('grpc-status', String(error.code));
  res.setHeader('grpc-message', encodeURIComponent(error.details ?? ''));
  sendStatus(res, httpStatusOfGrpc(error.code), error.code, error.details ?? error.message);
}

function sendStatus(res: ServerResponse, httpStatus: number, grpcCode: number, message: string): void {
  res.statusCode = httpStatus;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(rpcStatusJson(grpcCode, message)));
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
