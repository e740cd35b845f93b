/**
 * The activity factory: takes the dependencies (API clients, folders, tuning) and returns every
 * activity vidflow registers. The worker wires real clients; tests wire clients pointed at the
 * emulators. Workflows import only the types of the per-kind factories.
 */
import type OpenAI from 'openai';
import type Replicate from 'replicate';
import { createAffinityActivities } from './affinity';
import type { AffinityDeps } from './affinity';
import { createCancelPredictionsActivities } from './cancel-predictions';
import { createCleanupActivities } from './cleanup';
import { createDownloadActivities } from './download';
import type { DownloadDeps } from './download';
import { createGenerateActivities } from './generate';
import type { GenerateDeps } from './generate';
import { createKeyframeFileActivities } from './keyframe-files';
import { createKeyframeActivities } from './keyframes';
import { createPlanActivities } from './plan';
import { createPublishActivities } from './publish';
import type { ArtifactStore } from '../artifacts/store';
import { createLocalStore } from '../artifacts/local-store';
import { createStitchActivities } from './stitch';

export interface ActivityDeps {
  openai?: OpenAI | undefined;
  openaiModel: string;
  replicate: Replicate;
  workDir: string;
  outputDir: string;
  maxConcurrentStitches?: number;
  generate?: Omit<GenerateDeps, 'replicate' | 'stopping'>;
  download?: Omit<DownloadDeps, 'workDir'>;
  affinity?: AffinityDeps;
  /** Where finished videos are published; default: the local output folder, as is. */
  artifacts?: ArtifactStore;
  /**
   * The worker's "I am shutting down" state, owned and aborted by the worker (src/worker/signals.ts):
   * generations hand over at once instead of polling through the grace time. Default: never aborted.
   */
  stopping?: AbortSignal;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createPlanActivities({ openai: deps.openai, openaiModel: deps.openaiModel }),
    ...createGenerateActivities({ replicate: deps.replicate, ...deps.generate, stopping: deps.stopping }),
    ...createKeyframeActivities({
      replicate: deps.replicate,
      providerErrorBudgetMs: deps.generate?.providerErrorBudgetMs,
      stopping: deps.stopping,
    }),
    ...createKeyframeFileActivities({
      workDir: deps.workDir,
      replicate: deps.replicate,
      fetch: deps.download?.fetch,
      allowedHosts: deps.download?.allowedHosts,
      maxRedirects: deps.download?.maxRedirects,
    }),
    ...createCancelPredictionsActivities({ replicate: deps.replicate }),
    ...createDownloadActivities({ workDir: deps.workDir, ...deps.download }),
    ...createStitchActivities({ outputDir: deps.outputDir, maxConcurrentStitches: deps.maxConcurrentStitches }),
    ...createCleanupActivities({ workDir: deps.workDir }),
    ...createAffinityActivities(deps.affinity ?? {}),
    ...createPublishActivities({
      store: deps.artifacts ?? createLocalStore({ outputDir: deps.outputDir }),
      outputDir: deps.outputDir,
    }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
