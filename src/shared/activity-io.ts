/**
 * What the activities take, return and heartbeat: plain interfaces (no zod), shared by the
 * workflow (which imports only their types) and the activities. Kept apart from ./schemas, which
 * validates what people and other processes send.
 */
import type { AspectRatio, ImageModelId } from './models';

export interface GenerateClipInput {
  workflowId: string;
  /** 1-based. */
  sceneIndex: number;
  sceneCount: number;
  prompt: string;
  model: string;
  seconds: number;
  aspectRatio: AspectRatio;
  negativePrompt?: string;
  /**
   * Which generation of this scene (default 0): the workflow adds one for every redo or
   * regeneration, so each pays for its own prediction, while a retry or a reset run of the same
   * generation finds the one already paid for (the generation key, providers/prediction-keys.ts).
   */
  generation?: number;
  /**
   * This run may have predecessors that generated this scene (a reset run, a continued-as-new or
   * retried run): look the generation key up before paying, on the first attempt too. Retries
   * always look it up; a plain first run never needs to.
   */
  mayExist?: boolean;
  /**
   * When the run's execution chain started (`workflowInfo().startTime`, ISO; a reset keeps it): a
   * `mayExist` search for predecessors' predictions goes back to this, less a clock-skew margin.
   */
  runStartedAt?: string;
  /** Multi-shot runs: every scene as one shot of this one clip (`seconds` is their sum). */
  shots?: { prompt: string; seconds: number }[];
  /** Storyboard runs: URL of keyframe i (this scene's first frame), from uploadKeyframe. */
  startImage?: string;
  /** Storyboard runs: URL of keyframe i+1 (this scene's last frame), from uploadKeyframe. */
  endImage?: string;
  /** The run asked for an audio track (absent = no audio: old histories replay unchanged). */
  audio?: boolean;
}

export interface GenerateClipResult {
  predictionId: string;
  outputUrl: string;
}

export interface DownloadClipInput {
  workflowId: string;
  sceneIndex: number;
  sceneCount: number;
  url: string;
  /**
   * The prediction that made the clip: it names the file, so a redo's or a regeneration's new
   * clip never meets an older clip of the scene. Without it (runs from older code), a hash of
   * `url` does.
   */
  predictionId?: string;
  /**
   * When the workflow received the output URL (ISO, workflow time). With it, a 404/410 counts as
   * an expiry only when the URL worked before or the output is about an hour old; without it
   * (runs from older code), every 404/410 does, as before.
   */
  outputSeenAt?: string;
  /** This run downloaded this URL before (on another worker, or before its clips vanished). */
  downloadedBefore?: boolean;
}

export interface ClipFile {
  path: string;
  sizeBytes: number;
  durationSeconds: number;
  width: number;
  height: number;
  fps: number;
  hasAudio: boolean;
}

export interface StitchClipsInput {
  workflowId: string;
  /** Paths in scene order. */
  clips: string[];
  transitionSeconds: number;
}

/** Heartbeat details of the generate activity: what a retry needs to resume instead of paying again. */
export interface GenerateHeartbeat {
  predictionId: string;
  status?: string;
  /** Lets `vidflow watch` put a pending activity's progress on the right scene. */
  sceneIndex?: number;
  /** Predictions of this scene that failed before this one (the model's own failures, not crashes). */
  modelFailures?: number;
}

/**
 * Heartbeat just before the create request leaves. Informational (`vidflow watch`): the SDK may
 * hold it back behind its throttle, so a retry never relies on it; it finds the prediction by key.
 */
export interface GenerateCreatingHeartbeat {
  creatingSince: string;
  sceneIndex: number;
  modelFailures?: number;
}

/** Cancels a run's predictions at Replicate wherever its generate activities are (or are not). */
export interface CancelPredictionsInput {
  workflowId: string;
  /** Only these scenes (1-based); default all. */
  scenes?: number[];
  /** `workflowInfo().startTime`, ISO: the search goes back to this, less a clock-skew margin. */
  runStartedAt: string;
}

export interface CancelPredictionsResult {
  /** Predictions that were still running and were cancelled now. */
  cancelled: string[];
  /** Predictions of the run found (cancelled now or already finished). */
  found: number;
  /** Predictions of the account looked at. */
  searched: number;
}

export interface DownloadHeartbeat {
  sceneIndex?: number;
  receivedBytes: number;
  totalBytes?: number;
  percent?: number;
}

// ---- storyboard keyframes ----------------------------------------------------------------------
// Keyframe K (1-based, 1..N+1) is the boundary where scene K-1 ends and scene K starts: scene i is
// generated from keyframe i to keyframe i+1, so redoing keyframe K touches scenes K-1 and K.

/** Paid like a clip: same key rules (kind `keyframe`), heartbeated id, adoption after a crash. */
export interface GenerateKeyframeInput {
  workflowId: string;
  /** 1-based, 1..keyframeCount. */
  keyframeIndex: number;
  keyframeCount: number;
  /** The planner's shared look plus this boundary's moment. */
  prompt: string;
  imageModel: ImageModelId;
  aspectRatio: AspectRatio;
  referenceImage?: string;
  seed?: number;
  generation?: number;
  mayExist?: boolean;
  runStartedAt?: string;
}

/** Downloads a keyframe to the run's home worker (disk-bound, like a clip). */
export interface DownloadKeyframeInput {
  workflowId: string;
  keyframeIndex: number;
  keyframeCount: number;
  url: string;
  predictionId: string;
  outputSeenAt?: string;
  downloadedBefore?: boolean;
}

export interface KeyframeFile {
  path: string;
  sizeBytes: number;
  width: number;
  height: number;
}

/**
 * Uploads a downloaded keyframe to Replicate's Files API (free) from the home worker, so a video
 * prediction can take it as `start_image`/`end_image` however long the storyboard review took
 * (the image prediction's own output URL is gone after an hour).
 */
export interface UploadKeyframeInput {
  workflowId: string;
  keyframeIndex: number;
  path: string;
}

export interface UploadKeyframeResult {
  url: string;
  /** Replicate's file id. */
  fileId: string;
}

/** One image of all keyframes side by side, numbered, for the reviewer (ffmpeg). */
export interface ContactSheetInput {
  workflowId: string;
  /** Paths in keyframe order. */
  keyframes: string[];
}

export interface ContactSheetResult {
  path: string;
}

/** What src/activities/keyframes*.ts implement (any worker: they only talk to Replicate). */
export interface KeyframeActivities {
  generateKeyframe(input: GenerateKeyframeInput): Promise<GenerateClipResult>;
}

/** What src/activities/keyframe-files*.ts implement: disk-bound, on the run's home worker. */
export interface KeyframeFileActivities {
  downloadKeyframe(input: DownloadKeyframeInput): Promise<KeyframeFile>;
  uploadKeyframe(input: UploadKeyframeInput): Promise<UploadKeyframeResult>;
  makeContactSheet(input: ContactSheetInput): Promise<ContactSheetResult>;
}
