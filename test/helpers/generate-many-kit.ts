/**
 * Set-up shared by the tests that run the real generate activity at scale (a worker per test, the
 * `generateMany` helper workflow): one Temporal environment and one workflow bundle per file, and
 * the scenes those runs generate.
 */
import { after, before } from 'node:test';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { GenerateClipInput } from '../../src/shared/schemas';
import { localEnv } from './temporal';

export interface GenerateManyKit {
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundleWithSourceMap;
}

/** Registers the file's before/after hooks; the fields are set once `before` has run. */
export function useGenerateManyKit(): GenerateManyKit {
  const kit = {} as GenerateManyKit;
  before(async () => {
    kit.env = await localEnv();
    kit.bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('./workflows/generate-many'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
    });
  });
  after(async () => {
    await (kit.env as TestWorkflowEnvironment | undefined)?.teardown();
  });
  return kit;
}

/** `n` five-second Kling scenes of one run, their prompts tagged. */
export const manyScenes = (n: number, tag: string): Omit<GenerateClipInput, 'workflowId'>[] =>
  Array.from({ length: n }, (_, i) => ({
    sceneIndex: i + 1,
    sceneCount: n,
    prompt: `${tag} scene ${i + 1}: a lighthouse in fog`,
    model: 'kling-v2.5-turbo-pro',
    seconds: 5,
    aspectRatio: '16:9' as const,
  }));
