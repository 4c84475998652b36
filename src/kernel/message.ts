import type { ErrorRecord } from './errors.js';

/**
 * Every message is a discriminated union member tagged by `kind`, prefixed by
 * the receiving actor: commands imperative ('router.match'), events past
 * tense ('acceptor.connection-accepted').
 */
export interface Message {
  readonly kind: string;
}

/** Where a reply goes: a pending ask on some thread. */
export interface ReplyAddress {
  readonly threadId: number;
  readonly askId: number;
}

/** What travels between threads: a message for a named actor, or a reply. */
export type Envelope =
  | { readonly t: 'send'; readonly to: string; readonly msg: Message; readonly replyTo?: ReplyAddress }
  | { readonly t: 'reply'; readonly askId: number; readonly ok: true; readonly value: unknown }
  | { readonly t: 'reply'; readonly askId: number; readonly ok: false; readonly error: ErrorRecord };
