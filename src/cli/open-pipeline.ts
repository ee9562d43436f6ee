/** Builds a pipeline with direct (unbatched) runners from the loaded config: what the CLI commands use. */
import type { Config } from '../config/schema.js';
import { closePipelineSessions, createFacePipeline, directRunners, openPipelineSessions, type FacePipeline } from '../pipeline/index.js';

export interface OpenedPipeline {
  readonly pipeline: FacePipeline;
  close(): Promise<void>;
}

export async function openPipeline(config: Config): Promise<OpenedPipeline> {
  const sessions = await openPipelineSessions({ modelsDir: config.pipeline.modelsDir, intraOpThreads: config.pipeline.intraOpThreads });
  return {
    pipeline: createFacePipeline({ runners: directRunners(sessions, sessions.imageOps), settings: config.pipeline }),
    close: () => closePipelineSessions(sessions),
  };
}
