/**
 * The schemas the workflow validates its input and its messages with, built once per workflow
 * thread instead of once per run.
 *
 * Why: the SDK's reusable V8 context evaluates every module the workflow imports again for each
 * run it creates, and again each time a run is rebuilt from its history after leaving the worker's
 * cache. Building our zod schemas cost ~235 KB and ~3 ms per run. Modules named in the bundle's `preloadModules`
 * (src/worker/bundle-options.ts) are evaluated once and shared, but the SDK deep-freezes what they
 * export, and a frozen zod schema breaks on first use (zod 4 defines properties on the instance
 * then). So this module is preloaded and exports only a function; the schemas live in its closure,
 * out of the freeze's reach. They are built when the module is, at preload: that is also when zod
 * sets its global configuration (default locale, memoizer) on the first schema it builds, which
 * it could not do after the freeze ("Cannot add property localeError, object is not extensible").
 *
 * Sharing them is safe: a schema holds no run's state, only caches zod fills the same way for any
 * run, and building them reads nothing outside the schemas' own code (no clock, no randomness, no
 * workflow API). In a context that is not reused (the SDK's other mode) this module is evaluated
 * per run and everything still holds.
 */
import { defineSchemas } from '../shared/define-schemas';
import type { Schemas } from '../shared/define-schemas';

const built = defineSchemas();

/** The workflow thread's schemas. */
export function schemas(): Schemas {
  return built;
}
