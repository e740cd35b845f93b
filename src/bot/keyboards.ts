/**
 * Inline buttons and their callback data (at most 64 bytes). The data names the run, but a
 * modified client can send any data for any message, so it is parsed strictly here and the run's
 * owner is checked against the run itself (its VidflowChat) before anything is done with it.
 *
 * Plan buttons carry the plan round and video buttons the video version: a button on an old plan
 * or an old video is refused instead of acting on the newer one its owner has not seen.
 */
import { InlineKeyboard } from 'grammy';
import { ASPECT_RATIOS, MAX_SCENES } from '../shared/schemas';
import type { Messages } from './i18n';
import type { UserSettings } from './state';

/**
 * Workflow ids the bot makes: one per prompt message, `tg-<bot id>-<chat id>-<message id>`. The bot
 * id keeps two bots on one namespace apart (message ids are only unique within a chat of one bot).
 */
export const BOT_WORKFLOW_ID = /^tg-\d{1,12}--?\d{1,16}-\d{1,12}$/;

export function workflowIdFor(botId: number, chatId: number, messageId: number): string {
  return `tg-${botId}-${chatId}-${messageId}`;
}

export type Action =
  | { a: 'approve'; round: number; wf: string }
  | { a: 'storyboard'; wf: string }
  | { a: 'edit'; round: number; scene: number; wf: string }
  | { a: 'reject'; round: number; wf: string }
  | { a: 'cancel'; wf: string }
  | { a: 'redo'; version: number; scene: number; wf: string }
  | { a: 'same'; version: number; scene: number; wf: string }
  | { a: 'done'; version: number; wf: string }
  | { a: 'set'; key: 'scenes' | 'seconds' | 'aspect' | 'review'; value: string };

const CODES = {
  approve: 'ap',
  storyboard: 'sb',
  edit: 'ed',
  reject: 'rj',
  cancel: 'cx',
  redo: 'rd',
  same: 'sw',
  done: 'dn',
  set: 'st',
} as const;

export function encodeAction(x: Action): string {
  const code = CODES[x.a];
  switch (x.a) {
    case 'approve':
    case 'reject':
      return `${code}:${x.round}:${x.wf}`;
    case 'edit':
      return `${code}:${x.round}:${x.scene}:${x.wf}`;
    case 'cancel':
    case 'storyboard':
      return `${code}:${x.wf}`;
    case 'redo':
    case 'same':
      return `${code}:${x.version}:${x.scene}:${x.wf}`;
    case 'done':
      return `${code}:${x.version}:${x.wf}`;
    case 'set':
      return `${code}:${x.key}:${x.value}`;
  }
}

const int = (s: string | undefined) => (s !== undefined && /^\d{1,9}$/.test(s) ? Number(s) : undefined);

/** The action a button's data stands for, or undefined for anything we did not make. */
export function decodeAction(data: string): Action | undefined {
  const [code, ...rest] = data.split(':');
  const wf = rest[rest.length - 1] ?? '';
  const runOk = BOT_WORKFLOW_ID.test(wf);
  const [p1, p2] = rest;
  const n1 = int(p1);
  const n2 = int(p2);
  switch (code) {
    case 'ap':
    case 'rj':
      return runOk && rest.length === 2 && n1 ? { a: code === 'ap' ? 'approve' : 'reject', round: n1, wf } : undefined;
    case 'ed':
      return runOk && rest.length === 3 && n1 && n2 ? { a: 'edit', round: n1, scene: n2, wf } : undefined;
    case 'cx':
    case 'sb':
      return runOk && rest.length === 1 ? { a: code === 'cx' ? 'cancel' : 'storyboard', wf } : undefined;
    case 'rd':
    case 'sw':
      return runOk && rest.length === 3 && n1 !== undefined && n2
        ? { a: code === 'rd' ? 'redo' : 'same', version: n1, scene: n2, wf }
        : undefined;
    case 'dn':
      return runOk && rest.length === 2 && n1 !== undefined ? { a: 'done', version: n1, wf } : undefined;
    case 'st': {
      const [key, ...v] = rest;
      const value = v.join(':');
      if (key === 'scenes' && int(value) && int(value)! <= MAX_SCENES) return { a: 'set', key, value };
      if (key === 'seconds' && (value === '5' || value === '10')) return { a: 'set', key, value };
      if (key === 'aspect' && (ASPECT_RATIOS as readonly string[]).includes(value)) return { a: 'set', key, value };
      if (key === 'review' && (value === 'on' || value === 'off')) return { a: 'set', key, value };
      return undefined;
    }
    default:
      return undefined;
  }
}

function rows<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The storyboard's review: approve it (the videos start) or cancel. */
export function storyboardKeyboard(t: Messages, wf: string): InlineKeyboard {
  return new InlineKeyboard()
    .text(t.btnApproveStoryboard, encodeAction({ a: 'storyboard', wf }))
    .text(t.btnCancel, encodeAction({ a: 'cancel', wf }));
}

export function planKeyboard(t: Messages, wf: string, round: number, scenes: number): InlineKeyboard {
  const kb = new InlineKeyboard().text(t.btnApprove, encodeAction({ a: 'approve', round, wf })).row();
  const edits = Array.from({ length: scenes }, (_, i) => i + 1);
  for (const row of rows(edits, 2)) {
    for (const n of row) kb.text(t.btnEdit(n), encodeAction({ a: 'edit', round, scene: n, wf }));
    kb.row();
  }
  return kb
    .text(t.btnReject, encodeAction({ a: 'reject', round, wf }))
    .text(t.btnCancel, encodeAction({ a: 'cancel', wf }));
}

/** Under a video in result review: Redo scene N for each scene, and Done when the video is whole. */
export function videoKeyboard(t: Messages, wf: string, version: number, scenes: number, done: boolean): InlineKeyboard {
  const kb = new InlineKeyboard();
  for (const row of rows(
    Array.from({ length: scenes }, (_, i) => i + 1),
    2,
  )) {
    for (const n of row) kb.text(t.btnRedo(n), encodeAction({ a: 'redo', version, scene: n, wf }));
    kb.row();
  }
  if (done) kb.text(t.btnDone, encodeAction({ a: 'done', version, wf }));
  return kb;
}

export function sameWordsKeyboard(t: Messages, wf: string, version: number, scene: number): InlineKeyboard {
  return new InlineKeyboard().text(t.btnSameWords, encodeAction({ a: 'same', version, scene, wf }));
}

export function settingsKeyboard(t: Messages, s: UserSettings): InlineKeyboard {
  const mark = (on: boolean, label: string) => (on ? `• ${label} •` : label);
  const kb = new InlineKeyboard();
  for (let n = 1; n <= MAX_SCENES; n++) {
    kb.text(mark(s.scenes === n, String(n)), encodeAction({ a: 'set', key: 'scenes', value: String(n) }));
  }
  kb.row();
  for (const sec of [5, 10] as const) {
    kb.text(mark(s.seconds === sec, t.btnSeconds(sec)), encodeAction({ a: 'set', key: 'seconds', value: String(sec) }));
  }
  kb.row();
  for (const ar of ASPECT_RATIOS)
    kb.text(mark(s.aspect === ar, ar), encodeAction({ a: 'set', key: 'aspect', value: ar }));
  kb.row();
  return kb.text(t.btnReview(s.review), encodeAction({ a: 'set', key: 'review', value: s.review ? 'off' : 'on' }));
}
