/** The user's language from Telegram's `language_code`: Russian for `ru…`, English otherwise. */
import { en } from './en';
import type { Messages } from './en';
import { ru } from './ru';

export type Lang = 'en' | 'ru';
export type { Messages };

export function langOf(languageCode: string | undefined): Lang {
  return languageCode?.toLowerCase().startsWith('ru') ? 'ru' : 'en';
}

export function messages(lang: Lang): Messages {
  return lang === 'ru' ? ru : en;
}
