/**
 * Generation keys: which run, scene, generation and try a Replicate prediction was paid for.
 *
 * Replicate has no idempotency key for creating a prediction, and an attempt can die after the
 * create request left and before its answer (or the heartbeat recording the id) came back. Every
 * prediction therefore carries its key in the query of its `webhook` URL: Replicate keeps the URL,
 * query included, on the prediction object, so a later attempt can find exactly the prediction it
 * paid for among the account's predictions, whatever other runs sent (identical prompts included)
 * and whatever the clocks say.
 *
 * - Workflow ids are never reused (`vidflow start` rejects duplicates), and a reset run keeps its
 *   workflow id: so a retry, and a reset run of the same generation, find the same key, while a
 *   redo or a regeneration (the workflow counts generations) gets a new one.
 * - `try` counts the model's failures before this prediction: a scene whose first prediction
 *   failed pays for try 1, and an attempt killed while creating it finds try 1, not the failed one.
 *
 * Without VIDFLOW_WEBHOOK_URL the base is a host under `.invalid` (RFC 2606), which can never
 * resolve: Replicate's delivery of the `completed` event (the only one asked for) fails and is
 * retried a few times for about a minute, then dropped. That costs nothing and carries nothing
 * secret (the key is ids only). With VIDFLOW_WEBHOOK_URL set, the receiver gets the key too.
 */
export const ADOPTION_WEBHOOK_BASE = 'https://vidflow-adoption.invalid/replicate';

/** Only the final event: the webhook is a carrier for the key, and one event per prediction is enough. */
export const WEBHOOK_EVENTS = ['completed'] as const;

export interface GenerationKey {
  /** Temporal namespace: two deployments on one Replicate account never share keys. */
  namespace: string;
  workflowId: string;
  /** 1-based scene index. */
  scene: number;
  /** 0 for the first generation of the scene; the workflow adds one per redo or regeneration. */
  generation: number;
  /** The model's failures before this prediction (0 for the first). */
  try: number;
  /**
   * What was paid for: a scene's clip (absent, so clip keys and their URLs stay as before) or a
   * storyboard keyframe, whose index then sits in `scene`. Part of the key, so keyframe K is never
   * adopted as scene K's clip, nor the reverse.
   */
  kind?: 'keyframe';
}

const PARAMS = {
  namespace: 'vidflow_ns',
  workflowId: 'vidflow_workflow',
  scene: 'vidflow_scene',
  generation: 'vidflow_gen',
  try: 'vidflow_try',
  kind: 'vidflow_kind',
} as const;

/** The webhook URL carrying `key`, on `base` (its own query parameters kept). */
export function webhookFor(key: GenerationKey, base: string = ADOPTION_WEBHOOK_BASE): string {
  const url = new URL(base);
  url.searchParams.set(PARAMS.namespace, key.namespace);
  url.searchParams.set(PARAMS.workflowId, key.workflowId);
  url.searchParams.set(PARAMS.scene, String(key.scene));
  url.searchParams.set(PARAMS.generation, String(key.generation));
  url.searchParams.set(PARAMS.try, String(key.try));
  if (key.kind) url.searchParams.set(PARAMS.kind, key.kind);
  return url.toString();
}

const count = (v: string | null): number | undefined => (v !== null && /^\d{1,9}$/.test(v) ? Number(v) : undefined);

/** The key a prediction's webhook carries, whatever the base; undefined when it carries none. */
export function keyOf(prediction: { webhook?: string | null | undefined }): GenerationKey | undefined {
  if (typeof prediction.webhook !== 'string') return undefined;
  let q: URLSearchParams;
  try {
    q = new URL(prediction.webhook).searchParams;
  } catch {
    return undefined;
  }
  const namespace = q.get(PARAMS.namespace);
  const workflowId = q.get(PARAMS.workflowId);
  const scene = count(q.get(PARAMS.scene));
  const generation = count(q.get(PARAMS.generation));
  const tryNo = count(q.get(PARAMS.try));
  const kind = q.get(PARAMS.kind);
  // A kind this code does not know (a newer deployment's) is nobody's key here: never adopted.
  if (kind !== null && kind !== 'keyframe') return undefined;
  if (!namespace || !workflowId || scene === undefined || generation === undefined || tryNo === undefined) {
    return undefined;
  }
  return { namespace, workflowId, scene, generation, try: tryNo, ...(kind ? { kind } : {}) };
}

export function sameKey(a: GenerationKey, b: GenerationKey): boolean {
  return (
    a.namespace === b.namespace &&
    a.workflowId === b.workflowId &&
    a.scene === b.scene &&
    a.generation === b.generation &&
    a.try === b.try &&
    a.kind === b.kind
  );
}

/**
 * How far before a run's start its predictions are searched for: the run's start is the Temporal
 * server's clock, `created_at` is Replicate's. Ten minutes tolerates any skew seen in practice;
 * the worker's own clock is never compared with either.
 */
export const CLOCK_SKEW_MARGIN_MS = 10 * 60_000;
