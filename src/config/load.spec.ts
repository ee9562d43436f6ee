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

  it('reads --flag value and --flag=value, and reports a flag without a value and a stray argument', () => {
    assert.equal(loadConfig({ env: {}, argv: ['--similarity-threshold=-0.2', '--log-level', 'warn'] }).pipeline.similarityThreshold, -0.2);
    assert.throws(
      () => loadConfig({ env: {}, argv: ['stray', '--data-dir'] }),
      (error: unknown) => isFacerecError(error, 'CONFIG_INVALID') && /unexpected argument "stray"/.test(error.message) && /--data-dir needs a value/.test(error.message),
    );
  });

  it('leaves auth off but allowed by default, and reads the auth settings by their names', () => {
    assert.equal(loadConfig({ env: {} }).auth.required, false);
    const config = loadConfig({ env: { AUTH_SECRET_KEY: 'k'.repeat(48), AUTH_ALGORITHM: 'HS384', FACEREC_AUTH__REQUIRED: 'true', AUTH_ISSUER: 'facerec', AUTH_AUDIENCE: 'facerec-api' } });
    assert.deepEqual({ ...config.auth }, { secretKey: 'k'.repeat(48), algorithm: 'HS384', required: true, issuer: 'facerec', audience: 'facerec-api' });
  });

  it('refuses FACEREC_AUTH__REQUIRED without AUTH_SECRET_KEY (an empty one counts as unset)', () => {
    for (const env of [{ FACEREC_AUTH__REQUIRED: 'true' }, { FACEREC_AUTH__REQUIRED: '1', AUTH_SECRET_KEY: '' }]) {
      assert.throws(() => loadConfig({ env }), (error: unknown) => isFacerecError(error, 'CONFIG_INVALID') && /FACEREC_AUTH__REQUIRED is true but AUTH_SECRET_KEY is not set/.test(error.message));
    }
  });

  it('refuses a key shorter than the hash output of AUTH_ALGORITHM, without echoing it', () => {
    const cases: Array<[string, number]> = [['HS256', 32], ['HS384', 48], ['HS512', 64]];
    for (const [algorithm, bytes] of cases) {
      const short = 's'.repeat(bytes - 1);
      assert.throws(
        () => loadConfig({ env: { AUTH_SECRET_KEY: short, AUTH_ALGORITHM: algorithm } }),
        (error: unknown) => isFacerecError(error, 'CONFIG_INVALID') && error.message.includes(`AUTH_SECRET_KEY is ${bytes - 1} bytes; ${algorithm} needs at least ${bytes}`) && !error.message.includes(short),
      );
      assert.equal(loadConfig({ env: { AUTH_SECRET_KEY: 's'.repeat(bytes), AUTH_ALGORITHM: algorithm } }).auth.secretKey?.length, bytes);
    }
    // Overrides (how tests and embedders pass a key) are held to the same rule.
    assert.throws(() => loadConfig({ env: {}, overrides: { auth: { secretKey: 'short' } } }), /AUTH_SECRET_KEY is 5 bytes/);
  });

  it('reports a bad AUTH_ALGORITHM once, not again as a key-length problem', () => {
    assert.throws(() => loadConfig({ env: { AUTH_SECRET_KEY: 'short', AUTH_ALGORITHM: 'RS256' } }), (error: unknown) => {
      assert.ok(isFacerecError(error, 'CONFIG_INVALID'));
      assert.deepEqual(error.details['problems'], ['AUTH_ALGORITHM: expected one of HS256, HS384, HS512, got "RS256"']);
      return true;
    });
  });

  it('gives every setting a distinct environment name', () => {
    const names = listSettings().map(({ spec }) => spec.env);
    assert.equal(new Set(names).size, names.length);
  });
});
