/**
 * How vidflow bundles its workflow code: the same for the image's prebuilt bundle
 * (`npm run build`), a worker started from the sources, the CLI's cached bundle and the tests, so
 * what the tests run is what production runs.
 *
 * `preloadModules: ['zod']`. The SDK's reusable V8 context gives every workflow its own copy of
 * each module the workflow code imports, evaluated when the workflow is created and again whenever
 * it is rebuilt from its history after leaving the worker's cache. zod's library holds no state of
 * a run after its import, so it is evaluated once per workflow thread and shared instead (the SDK
 * deep-freezes what is preloaded). Measured with 100 runs parked at plan review in a cache of 150:
 * the worker grew 148 MB instead of 180 MB. Our own schemas (`shared/schemas.ts`, ~235 KB and
 * ~3 ms per evaluation) cannot be preloaded: zod 4 materialises a schema's methods on the instance
 * on first use, which a frozen schema refuses ("Cannot define property safeParse, object is not
 * extensible", seen in a replay).
 */
export const PRELOADED_WORKFLOW_MODULES: readonly string[] = ['zod'];

/** Options for `bundleWorkflowCode` (add a logger where wanted): every workflow vidflow runs. */
export function workflowBundleOptions(): { workflowsPath: string; preloadModules: string[] } {
  return { workflowsPath: require.resolve('../workflows'), preloadModules: [...PRELOADED_WORKFLOW_MODULES] };
}
