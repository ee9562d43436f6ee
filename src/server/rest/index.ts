export { startRestGateway, type RestGateway, type RestGatewayOptions } from './gateway.js';
export { httpStatusOfGrpc, rpcStatusJson, type RpcStatusJson } from './http-status.js';
export { loadDescriptorRegistry, httpRulesOf, FACEREC_SERVICE, type HttpRule } from './descriptor.js';
