/**
 * Every setting facerec reads, in one typed table: its environment name, CLI
 * flag, default and unit. `load.ts` parses env + argv against this table once;
 * the README's configuration table is checked against it by a test.
 *
 * Names deployments already set (GRPC_PORT, DATA_DIR, QDRANT_URL, AUTH_*, …)
 * and the standard OTEL_* ones are kept as they are; the rest are
 * FACEREC_<SECTION>__<KEY>, as immich does with MACHINE_LEARNING_.
 */

export type SettingType = 'int' | 'number' | 'string' | 'boolean' | 'list';

export interface SettingSpec {
  readonly type: SettingType;
  readonly default: number | string | boolean | readonly string[] | undefined;
  readonly env: string;
  readonly flag?: string;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  readonly description: string;
}

const s = <T extends SettingSpec>(spec: T): T => spec;

/** Per-model dynamic batching settings, named after Triton's. */
const batchingFor = (model: string, maxBatchSize: number, maxQueueDelayMs: number) => ({
  maxBatchSize: s({ type: 'int', default: maxBatchSize, min: 1, max: 256, env: `FACEREC_BATCHING__${model}__MAX_BATCH_SIZE`, description: `largest ${model.toLowerCase()} batch sent to ONNX Runtime; 1 turns batching off` }),
  maxQueueDelayMs: s({ type: 'number', default: maxQueueDelayMs, min: 0, max: 1000, env: `FACEREC_BATCHING__${model}__MAX_QUEUE_DELAY_MS`, description: `longest a ${model.toLowerCase()} request waits for a batch to fill (ms)` }),
  maxQueueSize: s({ type: 'int', default: 512, min: 1, env: `FACEREC_BATCHING__${model}__MAX_QUEUE_SIZE`, description: `queued ${model.toLowerCase()} requests beyond which new ones get RESOURCE_EXHAUSTED` }),
  queueTimeoutMs: s({ type: 'number', default: 10_000, min: 1, env: `FACEREC_BATCHING__${model}__QUEUE_TIMEOUT_MS`, description: `longest a ${model.toLowerCase()} request may wait in the queue before UNAVAILABLE (ms)` }),
});

export const CONFIG_SCHEMA = {
  server: {
    host: s({ type: 'string', default: '0.0.0.0', env: 'FACEREC_HOST', flag: '--host', description: 'address the gRPC, REST and metrics servers bind' }),
    // A port of 0 means "any free port" for all three servers (the one bound is
    // logged in "facerec serving"); whether the REST gateway and the metrics
    // endpoint run at all is a setting of its own, so 0 never turns one off.
    grpcPort: s({ type: 'int', default: 50051, min: 0, max: 65535, env: 'GRPC_PORT', flag: '--grpc-port', description: 'gRPC port (0 picks a free one)' }),
    restEnabled: s({ type: 'boolean', default: true, env: 'FACEREC_SERVER__REST_ENABLED', description: 'run the built-in REST gateway' }),
    restPort: s({ type: 'int', default: 8080, min: 0, max: 65535, env: 'REST_PORT', flag: '--rest-port', description: 'built-in REST gateway port (0 picks a free one)' }),
    metricsEnabled: s({ type: 'boolean', default: true, env: 'FACEREC_SERVER__METRICS_ENABLED', description: 'serve Prometheus /metrics' }),
    metricsPort: s({ type: 'int', default: 9464, min: 0, max: 65535, env: 'METRICS_PORT', flag: '--metrics-port', description: 'Prometheus /metrics port (0 picks a free one)' }),
    maxMessageBytes: s({ type: 'int', default: 32 * 1024 * 1024, min: 1024, env: 'FACEREC_SERVER__MAX_MESSAGE_BYTES', flag: '--max-message-bytes', description: 'largest image (gRPC message or REST body) accepted, in bytes; gRPC messages get 64 KiB more for their other fields' }),
    // The built-in gateway's deadline for each forwarded unary RPC; envoy/envoy.yaml's route timeout (60s) is Envoy's own, set apart.
    restRequestTimeoutMs: s({ type: 'number', default: 60_000, min: 1, env: 'FACEREC_SERVER__REST_REQUEST_TIMEOUT_MS', description: 'deadline of each call the built-in REST gateway forwards to gRPC; past it the client gets DEADLINE_EXCEEDED (HTTP 504) (ms)' }),
    corsOrigins: s({ type: 'list', default: ['*'], env: 'FACEREC_SERVER__CORS_ORIGINS', description: 'origins the REST gateway allows (comma-separated; * for any)' }),
    maxInflightRequests: s({ type: 'int', default: 64, min: 1, max: 100_000, env: 'FACEREC_SERVER__MAX_INFLIGHT_REQUESTS', description: 'unary calls handled at once; more get RESOURCE_EXHAUSTED (SERVER_BUSY) with retry-after' }),
    maxStreams: s({ type: 'int', default: 32, min: 1, max: 100_000, env: 'FACEREC_SERVER__MAX_STREAMS', description: 'RecognizeStream and BulkIngest calls open at once, counted apart from unary calls; more get SERVER_BUSY' }),
    // At most MAX_MATCHES_PER_REPLY (src/server/reply-limits.ts), so the reply to one face asking for all of them still fits.
    maxTopK: s({ type: 'int', default: 100, min: 1, max: 100, env: 'FACEREC_SERVER__MAX_TOP_K', description: 'largest top_k a Recognize request or RecognizeStream frame may ask for; more gets INVALID_ARGUMENT' }),
    maxIngestItems: s({ type: 'int', default: 10_000, min: 1, env: 'FACEREC_SERVER__MAX_INGEST_ITEMS', description: 'items one BulkIngest call may send; more end it with RESOURCE_EXHAUSTED (STREAM_TOO_LONG)' }),
    streamWriteTimeoutMs: s({ type: 'number', default: 30_000, min: 1, env: 'FACEREC_SERVER__STREAM_WRITE_TIMEOUT_MS', description: 'longest a stream reply waits for the client to read before the stream is ended (ms)' }),
    shutdownGraceMs: s({ type: 'number', default: 10_000, min: 0, env: 'FACEREC_SERVER__SHUTDOWN_GRACE_MS', description: 'time in-flight RPCs get to finish on SIGTERM (ms)' }),
  },
  auth: {
    secretKey: s({ type: 'string', default: undefined, env: 'AUTH_SECRET_KEY', description: 'HMAC secret for JWT bearer tokens, at least as many UTF-8 bytes as the hash output (32 for HS256, 48 for HS384, 64 for HS512); unset turns auth off (logged as a warning)' }),
    algorithm: s({ type: 'string', default: 'HS256', choices: ['HS256', 'HS384', 'HS512'], env: 'AUTH_ALGORITHM', description: 'JWT signing algorithm' }),
    required: s({ type: 'boolean', default: false, env: 'FACEREC_AUTH__REQUIRED', description: 'refuse to start without AUTH_SECRET_KEY instead of serving every RPC unauthenticated' }),
    issuer: s({ type: 'string', default: undefined, env: 'AUTH_ISSUER', description: 'when set, tokens must carry this `iss` (and `facerec token` sets it); must equal Envoy\'s jwt_authn issuer' }),
    audience: s({ type: 'string', default: undefined, env: 'AUTH_AUDIENCE', description: 'when set, tokens must carry this `aud` (and `facerec token` sets it); must be one of Envoy\'s jwt_authn audiences' }),
  },
  store: {
    dataDir: s({ type: 'string', default: './data', env: 'DATA_DIR', flag: '--data-dir', description: 'directory of the embedded gallery' }),
    qdrantUrl: s({ type: 'string', default: undefined, env: 'QDRANT_URL', flag: '--qdrant-url', description: 'use Qdrant at this URL instead of the embedded gallery' }),
    qdrantApiKey: s({ type: 'string', default: undefined, env: 'QDRANT_API_KEY', description: 'Qdrant API key' }),
    qdrantCollection: s({ type: 'string', default: 'facerec_faces', env: 'FACEREC_STORE__QDRANT_COLLECTION', description: 'Qdrant collection name' }),
    // Qdrant fixes a collection's shard count when it creates it; the replication factor can be raised later through Qdrant's own API.
    qdrantShardNumber: s({ type: 'int', default: 1, min: 1, max: 1024, env: 'FACEREC_STORE__QDRANT_SHARD_NUMBER', description: 'shards of each Qdrant collection facerec creates (spread over the cluster\'s nodes); fixed once a collection exists' }),
    qdrantReplicationFactor: s({ type: 'int', default: 1, min: 1, max: 64, env: 'FACEREC_STORE__QDRANT_REPLICATION_FACTOR', description: 'copies of each shard of a Qdrant collection facerec creates, on different nodes; 2 or more survives losing a node' }),
    annThreshold: s({ type: 'int', default: 20_000, min: 0, env: 'FACEREC_STORE__ANN_THRESHOLD', description: 'gallery size from which the embedded store searches an HNSW index instead of exactly' }),
    hnswConnectivity: s({ type: 'int', default: 32, min: 4, max: 128, env: 'FACEREC_STORE__HNSW_CONNECTIVITY', description: 'HNSW edges per node (M) in the embedded index; fixed when the index is built (a saved index keeps its M)' }),
    hnswExpansionAdd: s({ type: 'int', default: 128, min: 8, max: 4096, env: 'FACEREC_STORE__HNSW_EXPANSION_ADD', description: 'HNSW candidate list while inserting (efConstruction)' }),
    hnswExpansionSearch: s({ type: 'int', default: 0, min: 0, max: 4096, env: 'FACEREC_STORE__HNSW_EXPANSION_SEARCH', description: 'HNSW candidate list while searching (efSearch); 0 = grow with the gallery (16 up to 100k faces, 64 at 1M); higher = better recall, slower' }),
    indexSaveEveryChanges: s({ type: 'int', default: 10_000, min: 1, env: 'FACEREC_STORE__INDEX_SAVE_EVERY_CHANGES', description: 'face changes after which the embedded HNSW index file is saved again (also saved on shutdown)' }),
  },
  pipeline: {
    modelsDir: s({ type: 'string', default: undefined, env: 'FACEREC_PIPELINE__MODELS_DIR', flag: '--models-dir', description: 'directory of the built models (default: models/build in the package)' }),
    intraOpThreads: s({ type: 'int', default: 0, min: 0, max: 256, env: 'FACEREC_PIPELINE__INTRA_OP_THREADS', description: 'ONNX Runtime threads per model run; 0 = one while other inference workers are busy, and as many as there are workers for a run that has them all to itself' }),
    inferenceWorkers: s({ type: 'int', default: 0, min: 0, max: 64, env: 'FACEREC_PIPELINE__INFERENCE_WORKERS', description: 'worker threads that run the models and image graphs, off the event loop; 0 = one per core (set it to the CPU limit in a container)' }),
    maxImagePixels: s({ type: 'int', default: 50_000_000, min: 1, env: 'FACEREC_PIPELINE__MAX_IMAGE_PIXELS', description: 'images declaring more pixels (width × height) are refused before decoding (decompression bombs)' }),
    // 3 bytes a pixel once decoded: the 192 images the default caps allow in
    // flight fit the pod's 3 GiB (README "Limits"). The detector sees 320×240,
    // so more pixels would cost memory without finding more faces.
    maxDecodedPixels: s({ type: 'int', default: 3_145_728, min: 65_536, env: 'FACEREC_PIPELINE__MAX_DECODED_PIXELS', description: 'larger images are shrunk while decoding to this many pixels (3145728 = 2048×1536), bounding the memory each image in flight holds; boxes and landmarks stay in the sent image\'s pixels' }),
    detectScoreThreshold: s({ type: 'number', default: 0.75, min: 0, max: 1, env: 'FACEREC_PIPELINE__DETECT_SCORE_THRESHOLD', description: 'minimum detector score for a face' }),
    nmsIouThreshold: s({ type: 'number', default: 0.4, min: 0, max: 1, env: 'FACEREC_PIPELINE__NMS_IOU_THRESHOLD', description: 'IoU above which overlapping detections are merged' }),
    minFaceSizePx: s({ type: 'int', default: 20, min: 1, env: 'FACEREC_PIPELINE__MIN_FACE_SIZE_PX', description: 'faces whose shorter box side is below this are reported but not embedded (px)' }),
    // At most MAX_MATCHES_PER_REPLY (src/server/reply-limits.ts), so every embedded face of a Recognize gets at least its best match.
    maxFacesPerImage: s({ type: 'int', default: 100, min: 1, max: 100, env: 'FACEREC_PIPELINE__MAX_FACES_PER_IMAGE', description: 'faces per image that get landmarks and an embedding, largest first; the rest are reported with box and score only' }),
    similarityThreshold: s({ type: 'number', default: 0.46, min: -1, max: 1, env: 'FACEREC_PIPELINE__SIMILARITY_THRESHOLD', flag: '--similarity-threshold', description: 'default cosine similarity for a match (calibrated, see README)' }),
    flipAverageProbes: s({ type: 'boolean', default: false, env: 'FACEREC_PIPELINE__FLIP_AVERAGE_PROBES', description: 'probe faces (Recognize, RecognizeUpload, RecognizeStream, Verify, Detect with embeddings) are embedded with their mirror image too and the two averaged: twice the embedder work per face (see README, flip-averaging)' }),
  },
  enrolment: {
    defaultFacePolicy: s({ type: 'string', default: 'dominant', choices: ['dominant', 'reject', 'largest'], env: 'FACEREC_ENROLMENT__DEFAULT_FACE_POLICY', description: 'face policy of an enrolment that sends FACE_POLICY_UNSPECIFIED: dominant = the largest face when it clearly is the subject, reject = exactly one face, largest = the largest face' }),
    dominantAreaRatio: s({ type: 'number', default: 2, min: 1, max: 100, env: 'FACEREC_ENROLMENT__DOMINANT_AREA_RATIO', description: 'FACE_POLICY_DOMINANT takes the largest face when its box area is at least this many times the next face\'s' }),
    flipAverage: s({ type: 'boolean', default: true, env: 'FACEREC_ENROLMENT__FLIP_AVERAGE', description: 'enrolled faces (EnrollFace, BulkIngest) are embedded with their mirror image too and the two averaged: one more embedder run per enrolled photo (see README, flip-averaging)' }),
    // The enrolment quality gate (README "Enrolment quality"): defaults calibrated so every face of the development set passes.
    minFaceSizePx: s({ type: 'int', default: 40, min: 0, env: 'FACEREC_ENROLMENT__MIN_FACE_SIZE_PX', description: 'enrolled faces whose shorter box side is below this are refused with FACE_TOO_SMALL (px in the sent image); 0 turns the check off' }),
    minSharpness: s({ type: 'number', default: 0.12, min: 0, env: 'FACEREC_ENROLMENT__MIN_SHARPNESS', description: 'enrolled faces scoring below this sharpness are refused with FACE_BLURRED (fine detail over contrast of the face at 112 px, see README "Enrolment quality"); 0 turns the check off' }),
    maxYawDeg: s({ type: 'number', default: 40, min: 0, max: 90, env: 'FACEREC_ENROLMENT__MAX_YAW_DEG', description: 'enrolled faces turned further than this either way, as estimated from the landmarks, are refused with FACE_TURNED (degrees); 0 turns the check off' }),
  },
  stream: {
    maxFramesInFlight: s({ type: 'int', default: 2, min: 1, max: 64, env: 'FACEREC_STREAM__MAX_FRAMES_IN_FLIGHT', description: 'frames of one RecognizeStream worked on at once; with FRAME_POLICY_LATEST one more may wait and older waiting frames are skipped' }),
    trackIouThreshold: s({ type: 'number', default: 0.3, min: 0.01, max: 1, env: 'FACEREC_STREAM__TRACK_IOU_THRESHOLD', description: 'lowest overlap (IoU) of a face with its track\'s predicted box for the face to continue the track' }),
    trackMaxMissedFrames: s({ type: 'int', default: 10, min: 0, max: 10_000, env: 'FACEREC_STREAM__TRACK_MAX_MISSED_FRAMES', description: 'processed frames a track may go unseen before it ends (TRACK_ENDED)' }),
    trackReidSimilarity: s({ type: 'number', default: 0.5, min: -1, max: 1, env: 'FACEREC_STREAM__TRACK_REID_SIMILARITY', description: 'lowest cosine similarity to an unmatched track\'s embedding for a face the overlap test could not place to continue that track' }),
    maxTracks: s({ type: 'int', default: 64, min: 1, max: 1000, env: 'FACEREC_STREAM__MAX_TRACKS', description: 'open tracks per stream; faces beyond it are reported untracked (track_id 0)' }),
    reembedEveryFrames: s({ type: 'int', default: 10, min: 1, max: 10_000, env: 'FACEREC_STREAM__REEMBED_EVERY_FRAMES', description: 'processed frames after which a tracked face is embedded again' }),
    reembedGrowthRatio: s({ type: 'number', default: 1.3, min: 1, max: 100, env: 'FACEREC_STREAM__REEMBED_GROWTH_RATIO', description: 'a tracked face whose box area reaches this many times its area at the last embedding is embedded again sooner' }),
    reembedScoreGain: s({ type: 'number', default: 0.05, min: 0, max: 1, env: 'FACEREC_STREAM__REEMBED_SCORE_GAIN', description: 'a tracked face whose detector score rises this much over its score at the last embedding (a sharper, more frontal face) is embedded again sooner' }),
  },
  review: {
    maxFaces: s({ type: 'int', default: 200, min: 0, max: 100_000, env: 'FACEREC_REVIEW__MAX_FACES', description: 'unknown faces kept for review (the oldest go first); 0 keeps none' }),
    maxAgeHours: s({ type: 'number', default: 168, min: 0.001, env: 'FACEREC_REVIEW__MAX_AGE_HOURS', description: 'unknown faces older than this are dropped from the review list (hours)' }),
    minTrackFrames: s({ type: 'int', default: 3, min: 1, env: 'FACEREC_REVIEW__MIN_TRACK_FRAMES', description: 'frames an unidentified track must be seen on to be kept for review (fewer is likely a false detection)' }),
    cropSizePx: s({ type: 'int', default: 160, min: 32, max: 1024, env: 'FACEREC_REVIEW__CROP_SIZE_PX', description: 'longest side of the JPEG crop kept of each unknown face (px)' }),
  },
  batching: {
    detector: batchingFor('DETECTOR', 4, 0),
    landmarks: batchingFor('LANDMARKS', 16, 0),
    embedder: batchingFor('EMBEDDER', 8, 0),
    maxInflightBatches: s({ type: 'int', default: 0, min: 0, max: 64, env: 'FACEREC_BATCHING__MAX_INFLIGHT_BATCHES', description: 'batches of one model that may run at once (Triton instance count); 0 = one per inference worker' }),
  },
  telemetry: {
    logLevel: s({ type: 'string', default: 'info', choices: ['debug', 'info', 'warn', 'error'], env: 'FACEREC_LOG_LEVEL', flag: '--log-level', description: 'log level (JSON lines on stderr)' }),
    // A subject id names a person, and a trace backend is usually seen by more people, for longer, than the gallery.
    spanSubjectIds: s({ type: 'boolean', default: false, env: 'FACEREC_TELEMETRY__SPAN_SUBJECT_IDS', description: 'record the subject id (facerec.subject.id) on ingest.item, store.upsert and store.delete spans; off because an identity is personal data' }),
  },
} as const;

type SchemaValue<T extends SettingSpec> = T['type'] extends 'int' | 'number'
  ? number
  : T['type'] extends 'boolean'
    ? boolean
    : T['type'] extends 'list'
      ? readonly string[]
      : T['default'] extends undefined
        ? string | undefined
        : string;

type ConfigOf<T> = {
  readonly [K in keyof T]: T[K] extends SettingSpec ? SchemaValue<T[K]> : ConfigOf<T[K]>;
};

export type Config = ConfigOf<typeof CONFIG_SCHEMA>;
export type BatchingConfig = Config['batching'];
export type ModelBatchingConfig = Config['batching']['embedder'];
export type PipelineConfig = Config['pipeline'];
export type StoreConfig = Config['store'];
export type ServerConfig = Config['server'];
export type AuthConfig = Config['auth'];
export type EnrolmentConfig = Config['enrolment'];
export type StreamConfig = Config['stream'];
export type ReviewConfig = Config['review'];
