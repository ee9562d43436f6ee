import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { httpStatusOfGrpc, rpcStatusJson } from './http-status.js';

test("every gRPC code maps by Envoy's table", () => {
  const table: [status, number][] = [
    [status.OK, 200], [status.CANCELLED, 499], [status.UNKNOWN, 500], [status.INVALID_ARGUMENT, 400],
    [status.DEADLINE_EXCEEDED, 504], [status.NOT_FOUND, 404], [status.ALREADY_EXISTS, 409],
    [status.PERMISSION_DENIED, 403], [status.RESOURCE_EXHAUSTED, 429], [status.FAILED_PRECONDITION, 400],
    [status.ABORTED, 409], [status.OUT_OF_RANGE, 400], [status.UNIMPLEMENTED, 501], [status.INTERNAL, 500],
    [status.UNAVAILABLE, 503], [status.DATA_LOSS, 500], [status.UNAUTHENTICATED, 401],
  ];
  for (const [code, http] of table) assert.equal(httpStatusOfGrpc(code), http, status[code]);
  assert.equal(httpStatusOfGrpc(99), 500, 'unknown codes are 500');
});

test('the body is a google.rpc.Status', () => {
  assert.deepEqual(rpcStatusJson(5, 'subject not found'), { code: 5, message: 'subject not found', details: [] });
});
