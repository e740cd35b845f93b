/**
 * Offline mode for `vidflow run`: with no REPLICATE_API_TOKEN, the local emulators of the OpenAI
 * and Replicate APIs stand in for the real services, with synthetic clips made by ffmpeg. The same
 * worker code runs against them; only the base URLs and keys differ. Labelled plainly, because a
 * colour card is not an AI video.
 */
import type { Config } from '../config';
import { startEmulators } from '../emulators';

export const OFFLINE_BANNER = [
  '┌──────────────────────────────────────────────────────────────────────────────┐',
  '│ OFFLINE MODE: no REPLICATE_API_TOKEN is set, so vidflow uses local emulators │',
  '│ of the OpenAI and Replicate APIs. Clips are synthetic colour cards made by    │',
  '│ ffmpeg, not AI video. Set OPENAI_API_KEY and REPLICATE_API_TOKEN (e.g. in     │',
  '│ .env) to generate real clips.                                                 │',
  '└──────────────────────────────────────────────────────────────────────────────┘',
].join('\n');

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
