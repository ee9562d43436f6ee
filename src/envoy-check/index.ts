export { checkEnvoyConfig, envoyProbeTargets, type EnvoyCheckInputs } from './check-config.js';
export { largestRestBodyBytes } from './check-operations.js';
export { loadEnvoyApiRegistry, patchValidateProto, type EnvoyApiOptions } from './envoy-api-registry.js';
export { checkJwks, jwksFromSecret } from './jwks.js';
export { readDeployedFile, DEPLOYED_FILES } from './deployed-files.js';
