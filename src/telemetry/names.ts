/**
 * Every span, attribute and metric name facerec emits, in one place, so the
 * Grafana dashboard, the docs and the tests can be checked against them.
 * Attribute names live under `facerec.` so they never clash with the OTel
 * semantic conventions the gRPC instrumentation adds (`rpc.*`).
 */

export const SPAN = {
  decode: 'decode',
  detect: 'detect',
  landmarks: 'landmarks',
  align: 'align',
  embed: 'embed',
  storeSearch: 'store.search',
  storeUpsert: 'store.upsert',
  storeDelete: 'store.delete',
  ingestItem: 'ingest.item',
  streamFrame: 'stream.frame',
  /** One batched model run; links to every request span it served. */
  batchRun: 'batch.run',
  /** Child of a request span: its time in a batcher's queue. */
  batchWait: 'batch.wait',
} as const;

export type SpanName = (typeof SPAN)[keyof typeof SPAN];

export const ATTR = {
  batchSize: 'facerec.batch.size',
  /** On `batch.run`: every item's wait, in batch order. On `batch.wait`: this item's. */
  batchQueueWaitMs: 'facerec.batch.queue_wait_ms',
  batchQueueWaitMaxMs: 'facerec.batch.queue_wait_max_ms',
  batchRunMs: 'facerec.batch.run_ms',
  modelName: 'facerec.model.name',
  facesCount: 'facerec.faces.count',
  imageBytes: 'facerec.image.bytes',
  imageWidth: 'facerec.image.width',
  imageHeight: 'facerec.image.height',
  storeTopK: 'facerec.store.top_k',
  storeMatches: 'facerec.store.matches',
  /** Personal data: set only when `telemetry.spanSubjectIds` is on (spans.ts `SpanPrivacy`). */
  subjectId: 'facerec.subject.id',
  ingestIndex: 'facerec.ingest.index',
  streamFrameIndex: 'facerec.stream.frame_index',
  errorCode: 'facerec.error.code',
} as const;

export const METRIC = {
  rpcRequests: 'facerec_rpc_requests_total',
  rpcDuration: 'facerec_rpc_duration_seconds',
  batchSize: 'facerec_batch_size',
  batchQueueWait: 'facerec_batch_queue_wait_seconds',
  inferenceDuration: 'facerec_inference_duration_seconds',
  queueDepth: 'facerec_queue_depth',
  facesDetected: 'facerec_faces_detected_total',
  gallerySubjects: 'facerec_gallery_subjects',
  galleryFaces: 'facerec_gallery_faces',
  activeStreams: 'facerec_active_streams',
  streamFrames: 'facerec_stream_frames_total',
  streamFramesInFlight: 'facerec_stream_frames_in_flight',
  streamFaceFrames: 'facerec_stream_face_frames_total',
  streamEmbeddings: 'facerec_stream_embeddings_total',
  reviewFaces: 'facerec_review_faces_kept_total',
  eventLoopUtilization: 'facerec_event_loop_utilization',
  inferenceWorkers: 'facerec_inference_workers',
  inferenceWorkersBusy: 'facerec_inference_workers_busy',
  inferenceJobsQueued: 'facerec_inference_jobs_queued',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** Metric label names. */
export const LABEL = {
  method: 'method',
  code: 'code',
  model: 'model',
  outcome: 'outcome',
} as const;

/** Instrumentation scope of the project's own spans. */
export const TRACER_NAME = 'facerec';
