/**
 * How vidflow bundles its workflow code: the same for the image's prebuilt bundle
 * (`npm run build`), a worker started from the sources, the CLI's cached bundle and the tests, so
 * what the tests run is what production runs.
 *
 * Preloaded modules. The SDK's reusable V8 context gives every workflow its own copy of each module
 * the workflow code imports, evaluated when the workflow is created and again whenever it is
 * rebuilt from its history after leaving the worker's cache. What is preloaded is evaluated once
 * per workflow thread and shared (the SDK deep-freezes its exports):
 * - `zod`: the library holds no state of a run after its import. Measured with 100 runs parked at
 *   plan review in a cache of 150: the worker grew 148 MB instead of 180 MB.
 * - `workflows/validation`: our schemas, built once in its closure (why and how: that file). zod 4
 *   schemas break when frozen, so they cannot be preloaded as exports.
 */
export function workflowBundleOptions(): { workflowsPath: string; preloadModules: string[] } {
  return {
    workflowsPath: require.resolve('../workflows'),
    preloadModules: ['zod', require.resolve('../workflows/validation')],
  };
}
