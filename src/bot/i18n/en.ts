/**
 * The bot's words in English (the default). Every message says what happened and what the person
 * can do next: the old bot's users were told to "check the logs" or "close and reopen the bot".
 */
const usd = (n: number) => `$${n.toFixed(2)}`;
const scenes = (n: number) => `${n} scene${n === 1 ? '' : 's'}`;
const size = (bytes: number) =>
  bytes >= 100_000 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} KB`;

export const en = {
  help: (p: { cost: number; scenes: number; seconds: number; aspect: string; maxRuns: number; dailyUsd: number }) =>
    [
      '🎬 I turn a text into a short video.',
      '',
      'Send me a prompt, e.g. "a lighthouse in a storm at night". I plan it as scenes and show you the plan: approve it, edit a scene, or reject it with feedback. Then every scene is generated at once (Kling v2.5 Turbo Pro) and stitched into one video, which I send here.',
      '',
      `💵 A video costs $0.07 per second: with your settings (${scenes(p.scenes)} × ${p.seconds} s, ${p.aspect}) that is ${usd(p.cost)}.`,
      `Limits: ${p.maxRuns} videos at once, ${usd(p.dailyUsd)} per day.`,
      '',
      'Commands:',
      '/settings — scenes, length, aspect ratio',
      '/review — turn result review on or off (redo single scenes after the video)',
      '/storyboard — turn the storyboard on or off (approve a still per scene boundary, about a cent each, before any video)',
      '/status — your videos in this chat',
      '/cancel — stop your current video (nothing more is charged)',
      '/help — this message',
    ].join('\n'),
  stranger: (userId: number) =>
    `🔒 This bot is private. Your Telegram user id is ${userId}.\nTo be allowed, ask the operator to add it to VIDFLOW_TELEGRAM_USERS.`,
  invalidPrompt: (reason: string) => `✋ I can't use that prompt: ${reason}. Nothing was started.`,
  promptTooLong: (len: number, max: number) =>
    `✋ Your prompt is ${len} characters; the most is ${max}. Shorten it and send it again. Nothing was started.`,
  planning: (p: { scenes: number; seconds: number; aspect: string }) =>
    `⏳ Planning your video: ${scenes(p.scenes)} × ${p.seconds} s, ${p.aspect}…`,
  limitRuns: (running: number, max: number) =>
    `✋ You already have ${running} videos in progress; the most at once is ${max}. Wait for one to finish, or /cancel it.`,
  limitBudget: (p: { spent: number; limit: number; estimate: number }) =>
    `💸 This video is estimated at ${usd(p.estimate)}, and you have committed ${usd(p.spent)} of your ${usd(p.limit)} for today (UTC). Try fewer or shorter scenes (/settings), or tomorrow. Nothing was started.`,
  planTitle: (p: { round: number; scenes: number; seconds: number; aspect: string }) =>
    `📝 Plan${p.round > 1 ? ` (version ${p.round})` : ''}: ${scenes(p.scenes)} × ${p.seconds} s, ${p.aspect}`,
  plannerOpenai: 'Planned by: OpenAI',
  plannerFallback: (reason: string) => `Planned by: fallback, a plain split of your prompt (${reason})`,
  estimatedCost: (n: number) => `Estimated cost: ${usd(n)}`,
  planHint: 'Approve to generate, edit a scene, reject with feedback, or cancel.',
  btnApprove: '✅ Approve',
  btnEdit: (n: number) => `✏️ Edit scene ${n}`,
  btnReject: '🔁 Reject',
  btnCancel: '✖️ Cancel',
  btnRedo: (n: number) => `🔄 Redo scene ${n}`,
  btnDone: '👍 Done',
  btnSameWords: '↩️ Same words',
  btnSeconds: (n: number) => `${n} s`,
  btnReview: (on: boolean): string => (on ? '🔄 Result review: on' : 'Result review: off'),
  askEdit: (n: number, now: string) => `✏️ Send the new text for scene ${n}.\nNow: «${now}»`,
  askFeedback: '🔁 What should change? Send your feedback and I will plan again.',
  askRedo: (n: number) => `🔄 Send new words for scene ${n}, or tap "Same words" to generate it again as it was.`,
  edited: (n: number) => `✅ Scene ${n} changed. The plan above shows it.`,
  replanning: '⏳ Planning again with your feedback…',
  approved: 'Approved: generating',
  redoQueued: (n: number, cost: number) => `🔄 Redoing scene ${n}. The estimate is now ${usd(cost)}.`,
  doneAck: '👍 Done. Enjoy your video!',
  cancelling: 'Cancelling…',
  nothingToCancel: 'You have no video in progress.',
  cancelled: '✖️ Cancelled. Scenes in progress were stopped; nothing more is charged.',
  timedOut:
    '⌛ Nobody decided in time, so the run ended. Nothing more was generated; send the prompt again to restart.',
  notYours: '⛔ This button belongs to another chat.',
  unknownRun: 'I do not know that video.',
  stale: (stage: string) => `This button is out of date (the video is ${stage}).`,
  busy: 'The video service is not answering right now (a worker may be restarting). Try again in a minute.',
  refused: (reason: string) => `✋ Refused: ${reason}`,
  unavailable: '⚠️ I cannot reach the video service right now. Nothing was started; try again in a minute.',
  progressTitle: (stage: 'generating' | 'stitching' | 'done' | 'stopped', n: number) =>
    ({
      generating: `🎬 Generating ${scenes(n)}…`,
      stitching: `🎞 All scenes ready (${n}): stitching them…`,
      done: `✅ ${scenes(n)} generated and stitched.`,
      stopped: '⏹ Stopped.',
    })[stage],
  sceneStatus: {
    pending: 'waiting',
    generating: 'generating',
    downloading: 'downloading',
    ready: 'ready',
    flagged: 'stopped by the content filter',
    failed: 'failed',
    cancelled: 'cancelled',
  } as Record<string, string>,
  queued: 'queued at the provider',
  processing: 'rendering',
  retrying: (attempt: number, what: string) => `retrying (attempt ${attempt}): ${what}, no action needed`,
  providerTrouble: 'the provider had trouble',
  workerMoved: 'a worker restarted',
  videoCaption: (p: { seconds: number; width: number; height: number; bytes: number }) =>
    `🎬 Your video: ${p.seconds.toFixed(1)} s · ${p.width}×${p.height} · ${size(p.bytes)}`,
  videoShrunk: (fromBytes: number) => `(re-encoded from ${size(fromBytes)} to fit Telegram's upload limit)`,
  reviewHint: 'Redo a scene, or tap Done to keep this video.',
  tooLarge: (bytes: number, uri: string) =>
    `🎬 Your video is ready but too large to send here (${size(bytes)} even re-encoded). The operator can fetch it: ${uri}`,
  flagged: (scene: number, reason: string) =>
    `🚫 Scene ${scene} was stopped by the content filter (${reason}). Try other words for it: tap Redo scene ${scene} and send them.`,
  failFlagged: (scene: number | undefined) =>
    `🚫 ${scene ? `Scene ${scene}` : 'A scene'} was stopped by the content filter, so the video was not finished. Try other words for ${scene ? 'that scene' : 'it'} and send the prompt again. Scenes in progress were stopped; nothing more is charged.`,
  failProvider:
    '⚠️ The video service kept failing even after several retries. Nothing more is charged; try again later.',
  failBudget: (estimate: number, limit: number | undefined) =>
    `💸 Over budget: the estimate ${usd(estimate)} is above the limit${limit !== undefined ? ` ${usd(limit)}` : ''}. Nothing more was generated.`,
  failOperator: (type: string) =>
    `⚠️ The service is not set up correctly (${type}, on the operator's side). Your video stopped; the operator can see why in the logs.`,
  failOther: (message: string, id: string) =>
    `❌ The video failed: ${message}\nTry again; if it happens again, give the operator this id: ${id}`,
  statusNone: 'No videos in this chat yet. Send a prompt to start one.',
  statusTitle: 'Your videos in this chat:',
  stages: {
    planning: 'planning',
    awaiting_approval: 'waiting for your approval',
    storyboarding: 'drawing the storyboard',
    reviewing_storyboard: 'storyboard waiting for your approval',
    generating: 'generating',
    stitching: 'stitching',
    reviewing_result: 'waiting for your review',
    completed: 'done',
    timed_out: 'ended, no decision',
    failed: 'failed',
    cancelled: 'cancelled',
  } as Record<string, string>,
  settingsTitle: (p: { scenes: number; seconds: number; aspect: string; cost: number; review: boolean }) =>
    `⚙️ Settings for your next videos: ${scenes(p.scenes)} × ${p.seconds} s, ${p.aspect} (${usd(p.cost)}). Result review: ${p.review ? 'on' : 'off'}.`,
  settingsScenes: 'Scenes:',
  reviewOn: '🔄 Result review is on: your next videos come with Redo scene buttons.',
  reviewOff: 'Result review is off: your next videos are final when they arrive.',
  storyboardOn: '🎞 Storyboard is on: after the plan you approve one still per scene boundary before any video is made.',
  storyboardOff: 'Storyboard is off: videos start right after the plan.',
  btnApproveStoryboard: '✅ Approve storyboard',
  storyboardReady: (keyframes: { index: number; url?: string | undefined }[]): string =>
    [
      `🎞 Storyboard: ${keyframes.length} stills, one per scene boundary (scene i runs from still i to still i+1).`,
      ...keyframes.map((k) => `${k.index}. ${k.url ?? '(no image)'}`),
      'Approve it to start the videos.',
    ].join('\n'),
  saved: 'Saved',
  commands: {
    start: 'what this bot does',
    help: 'what this bot does, prices, commands',
    settings: 'scenes, length, aspect ratio',
    review: 'result review on or off',
    storyboard: 'storyboard on or off',
    status: 'your videos in this chat',
    cancel: 'stop your current video',
  },
};

export type Messages = typeof en;
