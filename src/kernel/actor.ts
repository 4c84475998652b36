import type { ErrorRecord } from './errors.js';
import type { Message, ReplyAddress } from './message.js';

/**
 * What an actor sees while handling one message. `replyTo` is set when the
 * sender used ask(); keep it to answer later (after I/O) with system.reply().
 */
export interface ActorContext {
  readonly self: string;
  readonly replyTo: ReplyAddress | undefined;
  /** Answers the current ask, if any (no-op for a plain send). */
  reply(value: unknown): void;
  /** Fails the current ask with a typed error record. */
  replyError(error: ErrorRecord): void;
}

/**
 * An actor: a behaviour plus private state (the object's fields) plus a
 * mailbox (owned by the system). Only the system calls these methods, one
 * message at a time, so the state needs no locks.
 */
export interface Actor<M extends Message = Message> {
  /**
   * Runs once per message, in mailbox order. Throwing crashes this actor:
   * its supervisor terminates it and, per the child spec, starts a fresh one.
   */
  receive(msg: M, ctx: ActorContext): void;
  /**
   * Runs when the actor is stopped or has crashed, before any restart.
   * Fail in-flight work here (a request it held gets its 500) and release
   * what the actor owns; `reason` is undefined on a normal stop.
   */
  terminate?(reason: ErrorRecord | undefined): void;
}

/** OTP restart types: permanent always restarts, transient only after a crash, temporary never. */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/** How to start one child and whether to restart it: supervision policy as data. */
export interface ChildSpec<M extends Message = Message> {
  readonly name: string;
  readonly start: () => Actor<M>;
  readonly restart: RestartType;
}

export type RestartStrategy = 'one-for-one' | 'one-for-all';

/** Max `maxRestarts` restarts within `withinMs`, else the supervisor gives up and escalates. */
export interface RestartIntensity {
  readonly maxRestarts: number;
  readonly withinMs: number;
}

export interface SupervisorSpec {
  readonly name: string;
  readonly strategy: RestartStrategy;
  readonly intensity: RestartIntensity;
  readonly children: ReadonlyArray<ChildSpec<any> | SupervisorSpec>;
}

export function isSupervisorSpec(spec: ChildSpec<any> | SupervisorSpec): spec is SupervisorSpec {
  return 'children' in spec;
}
