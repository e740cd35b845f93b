/**
 * Offline mode, for `vidflow run` without REPLICATE_API_TOKEN and for `vidflow worker --offline`:
 * local emulators of the OpenAI and Replicate APIs, started in this process, stand in for the real
 * services, with synthetic clips made by ffmpeg. The same worker and activities run against them;
 * only the base URLs and keys differ, so it rehearses the real flow. Labelled plainly, because a
 * colour card is not an AI video and an emulated plan is not a model's: plans are marked
 * `emulated`, the planner's log line names no OpenAI model, and each card shows its scene.
 */
import type { Context as ActivityContext } from '@temporalio/activity';
import type { ActivityInterceptorsFactory, WorkerOptions } from '@temporalio/worker';
import type { Config } from '../config';
import { startEmulators } from '../emulators';
import { rememberScene } from '../media/card-caption';
import type { GenerateClipInput, Plan } from '../shared/schemas';

const BOX_WIDTH = 78;

function box(lines: string[]): string {
  return [
    `┌${'─'.repeat(BOX_WIDTH)}┐`,
    ...lines.map((l) => `│ ${l.padEnd(BOX_WIDTH - 2)} │`),
    `└${'─'.repeat(BOX_WIDTH)}┘`,
  ].join('\n');
}

const WHAT_IT_IS = [
  'of the OpenAI and Replicate APIs. Plans are emulated (no model is asked);',
  'clips are synthetic colour cards made by ffmpeg, each showing its scene and',
  'the first words of its prompt: not AI video. Set OPENAI_API_KEY and',
  'REPLICATE_API_TOKEN (e.g. in .env) to generate real clips.',
];

export const OFFLINE_BANNER = box([
  'OFFLINE MODE: no REPLICATE_API_TOKEN is set, so vidflow uses local emulators',
  ...WHAT_IT_IS,
]);

export const OFFLINE_WORKER_BANNER = box([
  'OFFLINE WORKER (--offline): this worker uses local emulators, in-process,',
  ...WHAT_IT_IS,
]);

export interface Offline {
  cfg: Config;
  close: () => Promise<void>;
}

export async function goOffline(cfg: Config): Promise<Offline> {
  const emu = await startEmulators({
    replicate: { startingMs: 500, processingMs: 2500, clipWidth: 1280, clipHeight: 720 },
  });
  return {
    cfg: {
      ...cfg,
      OPENAI_API_KEY: 'sk-offline-emulator',
      OPENAI_BASE_URL: emu.openaiBaseUrl,
      REPLICATE_API_TOKEN: 'r8_offline-emulator',
      REPLICATE_BASE_URL: emu.replicateBaseUrl,
      VIDFLOW_POLL_INTERVAL_MS: 500,
    },
    close: () => emu.close(),
  };
}

/**
 * Around the real activities, offline only: a plan made by the emulator is marked `emulated`
 * (it is recorded so in the run's history, and `status` shows it), and each generation tells the
 * card maker which scene its prompt is, which the Replicate API would not carry.
 */
const offlineActivities: ActivityInterceptorsFactory = (ctx: ActivityContext) => ({
  inbound: {
    async execute(input, next) {
      const type = ctx.info.activityType;
      if (type === 'generateClip') {
        const g = input.args[0] as Partial<GenerateClipInput> | undefined;
        if (g?.prompt && g.sceneIndex && g.sceneCount) rememberScene(g.prompt, g.sceneIndex, g.sceneCount);
      }
      const result = await next(input);
      if (type === 'planScenes' && (result as Plan | undefined)?.planner === 'openai') {
        return { ...(result as Plan), planner: 'emulated' } satisfies Plan;
      }
      return result;
    },
  },
});

export function offlineWorkerOverrides(): Partial<WorkerOptions> {
  return { interceptors: { activity: [offlineActivities] } };
}

/** The plan activity names the model it asks; offline, no OpenAI model is asked. */
export function offlineLogLine(line: string): string {
  return line.replace(/plan: asking \S+ for /, 'plan: asking the emulated planner (offline mode, no OpenAI) for ');
}
