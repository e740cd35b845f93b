/**
 * A worker's shutdown signals. The SDK already starts a graceful shutdown on these (its Runtime's
 * default `shutdownSignals`); what it cannot know is that a generation need not wait out the grace
 * time: its prediction runs on at Replicate whoever polls it. So on the same signals the worker
 * aborts its `stopping` signal, and each generation hands over to another worker at once
 * (src/activities/generate.ts) while the other activities keep their grace time.
 */

/** The SDK's defaults (Ctrl-C, a redeploy's SIGTERM, and the rest), so both react to the same ones. */
export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGUSR2'] as const;

/** Calls `handOver` on the first shutdown signal; returns a function that stops listening. */
export function onShutdownSignal(handOver: () => void): () => void {
  for (const signal of SHUTDOWN_SIGNALS) process.once(signal, handOver);
  return () => {
    for (const signal of SHUTDOWN_SIGNALS) process.removeListener(signal, handOver);
  };
}
