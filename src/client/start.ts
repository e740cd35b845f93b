/**
 * Starting a run: CLI flags → validated input → `videoPipeline` on its task queue. Validation
 * happens here, before anything starts, and again in the workflow (which other clients can start).
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
} from '@temporalio/client';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../config';
import { estimateCostUsd, IMAGE_MODELS, keyframeModelFor } from '../shared/models';
import { VIDEO_STAGE, WORKFLOW_TYPE } from '../shared/names';
import { ASPECT_RATIOS, describeZodError, MAX_SCENES, PipelineInputSchema } from '../shared/schemas';
import type { PipelineInput, PipelineInputArgs } from '../shared/schemas';
import type { videoPipeline } from '../workflows';
import { CliError } from './errors';
import { referenceFromFlag } from './reference';
import type { Reference } from './reference';
import { withStageAttribute } from './stage-attribute';

export const START_OPTIONS = {
  scenes: { type: 'string' },
  seconds: { type: 'string' },
  aspect: { type: 'string' },
  model: { type: 'string' },
  id: { type: 'string' },
  'auto-approve': { type: 'boolean' },
  transition: { type: 'string' },
  'approval-timeout': { type: 'string' },
  'max-cost': { type: 'string' },
  'review-result': { type: 'boolean' },
  audio: { type: 'boolean' },
  'worker-timeout': { type: 'string' },
  storyboard: { type: 'boolean' },
  'multi-shot': { type: 'boolean' },
  reference: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The flags above, for the usage of `vidflow start` and `vidflow run`. */
export const START_OPTIONS_USAGE = `Start options: --scenes 1-6 (3)  --seconds 5|10 (5)  --aspect 16:9|9:16|1:1  --model kling-v2.5-turbo-pro
               --transition SECONDS (0.5; 0 with --storyboard)  --id WORKFLOW_ID  --auto-approve
               --storyboard (approve N+1 keyframes before any video)  --reference IMAGE_FILE_OR_URL
               --multi-shot (kling-v3: every scene as a shot of one clip; no stitch, no scene redo)
               --approval-timeout 24h  --max-cost USD  --review-result  --worker-timeout 1m`;

export const MAX_WORKFLOW_ID_CHARS = 200;

/**
 * `--id`: a person types it and reads it back in the CLI, the Web UI and file names. File names
 * are made safe anyway (src/support/paths.ts), but an id with control characters (a newline,
 * an escape sequence) or invisible format characters (a bidi override that shows `gpm.exe` as
 * `exe.mpg`) would mislead whoever reads it, so those are refused rather than cleaned.
 */
export const WorkflowIdSchema = z
  .string()
  .min(1, '--id must not be empty')
  .max(MAX_WORKFLOW_ID_CHARS, `--id is longer than ${MAX_WORKFLOW_ID_CHARS} characters`)
  .refine((s) => s.trim() === s, '--id must not start or end with whitespace')
  .refine(
    (s) => !/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(s),
    '--id must be printable: no control, invisible formatting or unassigned characters',
  );

/** Validates `--id`; a bad one exits 2 with the reason, before anything connects or starts. */
export function workflowIdFromFlag(id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  const parsed = WorkflowIdSchema.safeParse(id);
  if (!parsed.success) throw new CliError(`invalid --id: ${describeZodError(parsed.error)}`, 2);
  return parsed.data;
}

export interface StartFlags {
  id?: string | undefined;
  scenes?: string | undefined;
  seconds?: string | undefined;
  aspect?: string | undefined;
  model?: string | undefined;
  transition?: string | undefined;
  'auto-approve'?: boolean | undefined;
  'approval-timeout'?: string | undefined;
  'max-cost'?: string | undefined;
  'review-result'?: boolean | undefined;
  audio?: boolean | undefined;
  'worker-timeout'?: string | undefined;
  storyboard?: boolean | undefined;
  'multi-shot'?: boolean | undefined;
  reference?: string | undefined;
}

/** Where a local --reference will be once uploaded: a stand-in so the input validates before the upload. */
const PENDING_UPLOAD = 'https://api.replicate.com/v1/files/pending-upload';

function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new CliError(`--${flag} must be a number, got "${v}"`, 2);
  return n;
}

/**
 * Validates flags into the workflow's input; a bad value exits 2 with the reason. A local
 * `--reference` file is left out of the input (`reference` says where it is): withReference
 * uploads it just before the run starts.
 */
export function inputFromFlags(prompt: string | undefined, flags: StartFlags): PipelineInput {
  return startInputFromFlags(prompt, flags).input;
}

export function startInputFromFlags(
  prompt: string | undefined,
  flags: StartFlags,
): { input: PipelineInput; reference?: Reference } {
  // Here because every command that starts a run (start, run) validates its flags through this first.
  workflowIdFromFlag(flags.id);
  const reference = referenceFromFlag(flags.reference);
  const raw: PipelineInputArgs = {
    prompt: prompt ?? '',
    ...(flags.scenes !== undefined ? { scenes: num('scenes', flags.scenes) } : {}),
    ...(flags.seconds !== undefined ? { sceneSeconds: num('seconds', flags.seconds) } : {}),
    ...(flags.aspect !== undefined ? { aspectRatio: flags.aspect as PipelineInput['aspectRatio'] } : {}),
    ...(flags.model !== undefined ? { model: flags.model } : {}),
    ...(flags.transition !== undefined ? { transitionSeconds: num('transition', flags.transition) } : {}),
    ...(flags['auto-approve'] ? { autoApprove: true } : {}),
    ...(flags['approval-timeout'] !== undefined ? { approvalTimeout: flags['approval-timeout'] } : {}),
    ...(flags['max-cost'] !== undefined ? { maxCostUsd: num('max-cost', flags['max-cost'].replace(/^\$/, '')) } : {}),
    ...(flags['review-result'] ? { reviewResult: true } : {}),
    ...(flags.audio ? { audio: true } : {}),
    ...(flags['worker-timeout'] !== undefined ? { workerTimeout: flags['worker-timeout'] } : {}),
    ...(flags.storyboard ? { storyboard: true } : {}),
    ...(flags['multi-shot'] ? { multiShot: true } : {}),
    ...(reference ? { reference: 'url' in reference ? reference.url : PENDING_UPLOAD } : {}),
  };
  const parsed = PipelineInputSchema.safeParse(raw);
  if (!parsed.success) throw new CliError(describeInFlags(parsed.error, flags), 2);
  const cost = startEstimateUsd(parsed.data);
  if (parsed.data.maxCostUsd !== undefined && cost > parsed.data.maxCostUsd) {
    const keyframes = parsed.data.storyboard ? ` + ${parsed.data.scenes + 1} keyframes` : '';
    throw new CliError(
      `the plan's estimated cost $${cost.toFixed(2)} (${parsed.data.scenes} × ${parsed.data.sceneSeconds} s${keyframes}) is above --max-cost $${parsed.data.maxCostUsd.toFixed(2)}`,
      2,
    );
  }
  if (reference && 'file' in reference) {
    const { reference: _pending, ...input } = parsed.data;
    return { input, reference };
  }
  return { input: parsed.data };
}

/** The run's estimate before it starts: its clips, and for a storyboard its N+1 keyframes (as the workflow counts). */
export function startEstimateUsd(input: PipelineInput): number {
  const clips = estimateCostUsd(input.model, input.scenes, input.sceneSeconds, { audio: input.audio });
  if (!input.storyboard) return clips;
  const perImage = IMAGE_MODELS[keyframeModelFor(input.reference !== undefined)].pricePerImage;
  return Math.round((clips + (input.scenes + 1) * perImage) * 1000) / 1000;
}

/** The workflow input's fields by the flag a person types for them. */
const FLAGS: Record<string, { flag: keyof StartFlags; expects: string }> = {
  scenes: { flag: 'scenes', expects: `a whole number from 1 to ${MAX_SCENES}` },
  sceneSeconds: { flag: 'seconds', expects: "one of the model's durations (vidflow models)" },
  aspectRatio: { flag: 'aspect', expects: `one of ${ASPECT_RATIOS.join(', ')}` },
  transitionSeconds: { flag: 'transition', expects: 'a number of seconds from 0 to 2, shorter than a scene' },
  maxCostUsd: { flag: 'max-cost', expects: 'a positive amount in US dollars' },
  approvalTimeout: { flag: 'approval-timeout', expects: 'a duration of at least 1s, such as 15m or 24h' },
  workerTimeout: { flag: 'worker-timeout', expects: 'a duration of at least 1s, such as 30s or 2m' },
};

/**
 * The schema's complaints in the words of the command line: `--seconds: kling-v2.5-turbo-pro takes 5 or 10 seconds per scene, got "7"`,
 * not `sceneSeconds: Invalid input`. One line per flag.
 */
export function describeInFlags(error: z.ZodError, flags: StartFlags): string {
  const lines = new Set<string>();
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? '');
    const known = FLAGS[field];
    if (known) {
      const given = flags[known.flag];
      const got = typeof given === 'string' ? `, got "${given}"` : '';
      // The model checks (superRefine) say what this model takes; the rest say the general rule.
      lines.add(
        issue.code === 'custom' && (field === 'sceneSeconds' || field === 'aspectRatio')
          ? `--${known.flag}: ${issue.message}${got}`
          : `--${known.flag} must be ${known.expects}${got}`,
      );
    } else if (field === 'model') {
      lines.add(`--model: ${issue.message}`);
    } else if (field === 'prompt') {
      lines.add(`the ${issue.message}: vidflow start "<prompt>"`);
    } else {
      lines.add(issue.message);
    }
  }
  return `invalid input: ${[...lines].join('; ')}`;
}

export function newWorkflowId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `vidflow-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Web UI summary: one line, at most 200 bytes. */
export function summaryOf(prompt: string): string {
  const flat = prompt.replace(/\s+/g, ' ').trim();
  let out = flat;
  while (Buffer.byteLength(out) > 200) out = out.slice(0, -2);
  return out === flat ? out : `${out.slice(0, -1)}…`;
}

export interface Started {
  handle: WorkflowHandle<typeof videoPipeline>;
  existed: boolean;
}

/**
 * Starts the run. With `--id`, starting twice never starts a second paid run: a running run is
 * rejected (conflict policy FAIL) and so is a closed one (reuse policy REJECT_DUPLICATE); the
 * existing run is returned instead.
 */
export async function startRun(
  client: Client,
  cfg: Config,
  input: PipelineInput,
  workflowId?: string,
  log: (line: string) => void = () => undefined,
): Promise<Started> {
  const id = workflowIdFromFlag(workflowId) ?? newWorkflowId();
  return withStageAttribute(cfg, () => startOnce(client, cfg, input, id), log);
}

async function startOnce(client: Client, cfg: Config, input: PipelineInput, id: string): Promise<Started> {
  try {
    const handle = await client.workflow.start<typeof videoPipeline>(WORKFLOW_TYPE, {
      workflowId: id,
      taskQueue: cfg.TEMPORAL_TASK_QUEUE,
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      staticSummary: summaryOf(input.prompt),
      staticDetails: [
        `**Prompt:** ${input.prompt}`,
        '',
        `**Scenes:** ${input.scenes} × ${input.sceneSeconds} s, ${input.aspectRatio}, model ${input.model}`,
        `**Estimated cost:** $${startEstimateUsd(input).toFixed(2)}`,
        ...(input.storyboard ? [`**Storyboard:** ${input.scenes + 1} keyframes to approve first`] : []),
      ].join('\n'),
      typedSearchAttributes: [{ key: VIDEO_STAGE, value: 'planning' }],
      // In the memo too: `vidflow list` shows it, and a list carries memos but not the summary.
      memo: { prompt: summaryOf(input.prompt) },
    });
    return { handle, existed: false };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      return { handle: client.workflow.getHandle<typeof videoPipeline>(id), existed: true };
    }
    throw err;
  }
}
