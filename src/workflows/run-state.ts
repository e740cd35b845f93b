/**
 * One run's state, shared by its phases and its message handlers: the status the `status` query
 * returns, what the reviewers decided, the clips and the worker they live on. One object, so
 * every phase works on the same run and the Web UI's current details follow every change.
 */
import { log, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { estimateCostUsd, IMAGE_MODELS, keyframeModelFor, MODELS } from '../shared/models';
import type { ImageModelId, ModelId, ModelSpec } from '../shared/models';
import { VIDEO_STAGE } from '../shared/names';
import type {
  ClipFile,
  PipelineInput,
  PipelineStatus,
  RedoKeyframeArgs,
  RedoSceneArgs,
  SceneState,
  Stage,
} from '../shared/schemas';
import { legacyActivities } from './activity-options';
import type { DiskBoundActivities } from './activity-options';

/** Where a run's clips live: a worker's own queue, or (old runs) the shared queue. */
export interface Home {
  taskQueue: string;
  workerId?: string;
  acts: DiskBoundActivities;
}

export class PipelineRun {
  readonly workflowId: string;
  /** Scenes asked for: the run is done producing when it has this many clips. */
  readonly sceneCount: number;
  readonly modelId: ModelId;
  /** Looked up once: prompt limits in validators and the planner come from here. */
  readonly model: ModelSpec;
  /** What one more generated scene (a redo) adds to the estimate. */
  readonly sceneCostUsd: number;
  /** What the `status` query returns, changed in place. */
  readonly status: PipelineStatus;

  // Set by the message handlers, awaited by the reviews (./plan-review).
  planApproved = false;
  resultApproved = false;
  /** The feedback of a rejection the planner has not taken up yet. */
  rejection: string | undefined;
  readonly redoQueue: RedoSceneArgs[] = [];
  /** Edits and redos accepted: bounded (./plan-review), so a looping client cannot grow the history without end. */
  edits = 0;
  redos = 0;

  // The storyboard (./storyboard): keyframe K (1..N+1) is where scene K-1 ends and scene K starts.
  /** N+1 for storyboard runs, else 0. */
  readonly keyframeCount: number;
  readonly imageModel: ImageModelId;
  /** What one more keyframe (a redo) adds to the estimate. */
  readonly keyframeCostUsd: number;
  storyboardApproved = false;
  readonly keyframeRedoQueue: RedoKeyframeArgs[] = [];
  keyframeRedos = 0;
  /**
   * Each keyframe's Files API upload, per its generation (attempts) and when it started (workflow
   * time): scenes sharing a keyframe share one upload while it is fresh.
   */
  readonly keyframeUploads = new Map<number, { attempts: number; at: number; url: Promise<string> }>();

  // The clips (./scene-production).
  readonly clips = new Map<number, ClipFile>();
  /** Each scene's output URL: moving to another worker downloads it again without paying again. */
  readonly outputs = new Map<number, string>();
  /** The home queue each downloaded clip lives on. */
  readonly clipHome = new Map<number, string>();
  /** When each scene's output URL arrived (workflow time, ISO): its age tells an expiry from a glitch. */
  readonly outputSeenAt = new Map<number, string>();
  /** Output URLs this run has downloaded: a 404 on one of them later is an expiry. */
  readonly downloadedUrls = new Set<string>();
  /** Regenerations by `scene:cause`, each counted in the estimate (./regeneration). */
  readonly regenerations = new Map<string, number>();
  /**
   * Generations sent that have not returned a clip: their predictions may still run at Replicate
   * (an attempt cancelled in its retry backoff cancels nothing), so a cancelled or failed run with
   * any of them asks for its predictions to be cancelled (./scene-production).
   */
  unfinishedGenerations = 0;

  // The worker holding the clips (./home-worker).
  home: Home | undefined;
  /** The claim in flight, so scenes that need a home at the same time share one claim. */
  claiming: Promise<Home> | undefined;
  /** Times the run moved to another worker, or fetched its vanished clips again. */
  moves = 0;
  /** Runs recorded before worker affinity: everything on the shared queue. */
  readonly legacyHome: Home;

  constructor(readonly input: PipelineInput) {
    const info = workflowInfo();
    this.workflowId = info.workflowId;
    this.sceneCount = input.scenes;
    this.modelId = input.model;
    this.model = MODELS[input.model];
    this.sceneCostUsd = estimateCostUsd(input.model, 1, input.sceneSeconds, { audio: input.audio });
    this.keyframeCount = input.storyboard ? input.scenes + 1 : 0;
    this.imageModel = keyframeModelFor(input.reference !== undefined);
    this.keyframeCostUsd = IMAGE_MODELS[this.imageModel].pricePerImage;
    const keyframesUsd = this.keyframeCount * this.keyframeCostUsd;
    this.status = {
      stage: 'planning',
      scenes: [],
      planRound: 0,
      estimatedCostUsd: mills(
        estimateCostUsd(input.model, this.sceneCount, input.sceneSeconds, { audio: input.audio }) + keyframesUsd,
      ),
      ...(input.maxCostUsd !== undefined ? { maxCostUsd: input.maxCostUsd } : {}),
    };
    this.legacyHome = { taskQueue: info.taskQueue, acts: legacyActivities };
  }

  /** Every scene has its clip (none is flagged or waiting for a redo). */
  hasAllClips(): boolean {
    return this.clips.size === this.clipScenes().length;
  }

  /**
   * The scenes made as clips: all of them, or, in a multi-shot run, the first alone, whose clip
   * holds every scene as one shot (the others mirror its state).
   */
  clipScenes(): SceneState[] {
    return this.input.multiShot ? this.status.scenes.slice(0, 1) : this.status.scenes;
  }

  /** The estimate after one more scene is generated. */
  costWithOneMoreScene(): number {
    return mills(this.status.estimatedCostUsd + this.sceneCostUsd);
  }

  /** The estimate after one more keyframe and `scenes` more scenes are generated. */
  costWithMore(keyframes: number, scenes: number): number {
    return mills(this.status.estimatedCostUsd + keyframes * this.keyframeCostUsd + scenes * this.sceneCostUsd);
  }

  /** The stage is also a search attribute, so `temporal workflow list --query` finds runs by it. */
  setStage(stage: Stage): void {
    this.status.stage = stage;
    upsertSearchAttributes([{ key: VIDEO_STAGE, value: stage }]);
    this.refreshDetails();
    log.info(`stage: ${stage}`);
  }

  /** The Web UI's "current details": the status in a few lines, rewritten after every change. */
  refreshDetails(): void {
    const s = this.status;
    const lines = [`**${s.stage}** · estimated cost $${s.estimatedCostUsd.toFixed(2)}`];
    if (s.planner === 'fallback') lines.push(`plan: fallback (${s.plannerNote ?? 'no reason'})`);
    for (const scene of s.scenes) {
      const attempt = scene.attempts > 1 ? ` (attempt ${scene.attempts})` : '';
      lines.push(`- scene ${scene.index}/${this.sceneCount}: ${scene.status}${attempt}`);
    }
    for (const k of s.keyframes ?? []) {
      lines.push(`- keyframe ${k.index}/${this.keyframeCount}: ${k.status}${k.path ? ` · ${k.path}` : ''}`);
    }
    if (s.contactSheet) lines.push(`contact sheet: ${s.contactSheet}`);
    if (s.worker) lines.push(`worker: ${s.worker}`);
    if (s.output) lines.push(`output: ${s.output.path} (${s.output.durationSeconds.toFixed(1)} s)`);
    if (s.artifactUri) lines.push(`artifact: ${s.artifactUri}`);
    if (s.error) lines.push(`error: ${s.error}`);
    setCurrentDetails(lines.join('\n'));
  }
}

/** Rounded to a tenth of a cent: keyframes cost less than a cent (clips are whole cents, so those stay as they were). */
function mills(usd: number): number {
  return Math.round(usd * 1000) / 1000;
}
