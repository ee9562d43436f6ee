import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFacerecError } from '../errors.js';
import { listSettings, loadConfig } from './load.js';

describe('loadConfig', () => {
  it('gives the documented defaults with an empty environment', () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.server.grpcPort, 50051);
    assert.equal(config.store.dataDir, './data');
    assert.equal(config.auth.secretKey, undefined);
    assert.equal(config.auth.algorithm, 'HS256');
    assert.ok(Object.isFrozen(config.batching.embedder));
  });

  it('reads env, then flags, then overrides', () => {
    const config = loadConfig({
      env: { GRPC_PORT: '6000', FACEREC_BATCHING__EMBEDDER__MAX_BATCH_SIZE: '1', DATA_DIR: '/x' },
      argv: ['--grpc-port', '7000', '--data-dir=/y'],
      overrides: { store: { dataDir: '/z' } },
    });
    assert.equal(config.server.grpcPort, 7000);
    assert.equal(config.batching.embedder.maxBatchSize, 1);
    assert.equal(config.store.dataDir, '/z');
  });

  it('reports every problem in one error', () => {
    assert.throws(
      () => loadConfig({ env: { GRPC_PORT: 'abc', AUTH_ALGORITHM: 'RS256', FACEREC_PIPELINE__NMS_IOU_THRESHOLD: '2' }, argv: ['--nope', '1'] }),
      (error: unknown) => {
        assert.ok(isFacerecError(error, 'CONFIG_INVALID'));
        const problems = error.details['problems'] as string[];
        assert.equal(problems.length, 4, problems.join('\n'));
        assert.match(error.message, /GRPC_PORT: expected an integer/);
        assert.match(error.message, /AUTH_ALGORITHM: expected one of HS256, HS384, HS512/);
        assert.match(error.message, /unknown option --nope/);
        return true;
      },
    );
  });

  it('gives every setting a distinct environment name', () => {
    const names = listSettings().map(({ spec }) => spec.env);
    assert.equal(new Set(names).size, names.length);
  });
});
