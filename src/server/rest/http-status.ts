/**
 * gRPC status → HTTP status, by Envoy's table (grpc_common.cc
 * `httpToGrpcStatus`'s inverse, used by the transcoder with
 * convert_grpc_status), and the google.rpc.Status JSON body both send.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';

const HTTP_BY_GRPC: Record<number, number> = {
  [GrpcStatus.OK]: 200,
  [GrpcStatus.CANCELLED]: 499,
  [GrpcStatus.UNKNOWN]: 500,
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.ALREADY_EXISTS]: 409,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 429,
  [GrpcStatus.FAILED_PRECONDITION]: 400,
  [GrpcStatus.ABORTED]: 409,
  [GrpcStatus.OUT_OF_RANGE]: 400,
  [GrpcStatus.UNIMPLEMENTED]: 501,
  [GrpcStatus.INTERNAL]: 500,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.DATA_LOSS]: 500,
  [GrpcStatus.UNAUTHENTICATED]: 401,
};

export function httpStatusOfGrpc(code: number): number {
  return HTTP_BY_GRPC[code] ?? 500;
}

/** google.rpc.Status as proto3 JSON; `details` stays empty, as Envoy sends it without grpc-status-details-bin. */
export interface RpcStatusJson {
  code: number;
  message: string;
  details: unknown[];
}

export function rpcStatusJson(code: number, message: string): RpcStatusJson {
  return { code, message, details: [] };
}

/** Errors the gateway raises itself, before any RPC: HTTP status and the gRPC code its body carries. */
export const GATEWAY_ERRORS = {
  badRequest: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  notFound: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  methodNotAllowed: { http: 405, grpc: GrpcStatus.UNIMPLEMENTED },
  payloadTooLarge: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  unsupportedMediaType: { http: 415, grpc: GrpcStatus.INVALID_ARGUMENT },
} as const;

export type GatewayErrorKind = keyof typeof GATEWAY_ERRORS;

export class GatewayError extends Error {
  constructor(readonly kind: GatewayErrorKind, message: string) {
    super(message);
    this.name = 'GatewayError';
  }
}
