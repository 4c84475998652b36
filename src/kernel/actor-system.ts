import type { Actor, ActorContext, ChildSpec, SupervisorSpec } from './actor.js';
import { ZproxyError, toErrorRecord, type ErrorRecord } from './errors.js';
import { Mailbox } from './mailbox.js';
import type { Envelope, Message, ReplyAddress } from './message.js';
import { SupervisorNode, type SupervisorEvent, type SupervisorHost } from './supervisor.js';

/** Sends an envelope to another thread; false means its ring is full (backpressure). */
export type RemoteLink = (envelope: Envelope) => boolean;

export type AskCallback = (error: ErrorRecord | undefined, value: unknown) => void;

export interface ActorStats {
  readonly name: string;
  readonly mailboxDepth: number;
  readonly processed: number;
  readonly restarts: number;
}

export interface SystemStats {
  readonly threadId: number;
  readonly actors: ActorStats[];
  readonly sent: number;
  readonly remoteSent: number;
  readonly remoteBackpressure: number;
  readonly deadLetters: number;
  readonly askTimeouts: number;
  readonly pendingAsks: number;
}

interface Item {
  readonly msg: Message;
  readonly replyTo: ReplyAddress | undefined;
}

interface Cell {
  readonly name: string;
  actor: Actor<any>;
  readonly mailbox: Mailbox<Item>;
  readonly supervisor: SupervisorNode;
  scheduled: boolean;
  processed: number;
  restarts: number;
  stopped: boolean;
}

interface PendingAsk {
  readonly cb: AskCallback;
  readonly deadline: number;
  readonly to: string;
  readonly kind: string;
  readonly timeoutMs: number;
}

/** How many messages one actor handles before the next ready actor gets a turn. */
const BATCH_PER_ACTOR = 64;
/** Messages handled in one microtask drain before yielding to I/O with setImmediate. */
const BATCH_PER_DRAIN = 4096;
/** Resolution of ask deadlines: one sweep timer instead of a timer per ask. */
const ASK_SWEEP_MS = 10;

export interface ActorSystemOptions {
  /** This thread's id (worker_threads threadId); replies are routed by it. */
  readonly threadId: number;
  /** The root supervisor gave up: the host decides (a worker thread exits and is replaced). */
  readonly onEscalate?: (error: ErrorRecord, supervisor: string) => void;
  readonly onSupervisorEvent?: (event: SupervisorEvent) => void;
}

/**
 * One actor system per thread: local actors with mailboxes, a registry of
 * names (local cells and a directory of names living on other threads), and
 * the supervision tree. Local sends enqueue and schedule one batched drain,
 * never a promise or timer per message.
 */
export class ActorSystem implements SupervisorHost {
  readonly threadId: number;
  private readonly cells = new Map<string, Cell>();
  private readonly specsByName = new Map<string, ChildSpec<any>>();
  private readonly directory = new Map<string, number>();
  private readonly links = new Map<number, RemoteLink>();
  private readonly ready = new Mailbox<Cell>(64);
  private drainScheduled = false;
  private readonly pending = new Map<number, PendingAsk>();
  private nextAskId = 1;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly roots: SupervisorNode[] = [];
  private counters = { sent: 0, remoteSent: 0, remoteBackpressure: 0, deadLetters: 0, askTimeouts: 0 };
  private readonly drainFn = (): void => this.drain();
  private current: Item | undefined;
  private readonly ctx: ActorContext;

  constructor(private readonly options: ActorSystemOptions) {
    this.threadId = options.threadId;
    const system = this;
    this.ctx = {
      get self() { return system.currentCell?.name ?? ''; },
      get replyTo() { return system.current?.replyTo; },
      reply(value: unknown) { const r = system.current?.replyTo; if (r) system.reply(r, value); },
      replyError(error: ErrorRecord) { const r = system.current?.replyTo; if (r) system.replyError(r, error); },
    };
  }

  private currentCell: Cell | undefined;

  /** Starts a supervision tree on this thread. */
  startTree(spec: SupervisorSpec): SupervisorNode {
    const node = new SupervisorNode(spec, this, undefined);
    this.roots.push(node);
    node.startAll();
    return node;
  }

  /** Stops every tree (children in reverse order) and fails pending asks. */
  shutdown(): void {
    for (const root of this.roots.splice(0).reverse()) root.stopAll(undefined);
    const err: ErrorRecord = { code: 'kernel.shutdown', status: 503, message: 'actor system shut down', retryable: true, source: `thread-${this.threadId}` };
    for (const [id, p] of this.pending) { this.pending.delete(id); p.cb(err, undefined); }
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }

  /** Declares that `name` lives on thread `threadId` (the supervisor publishes this directory). */
  setRemoteName(name: string, threadId: number): void {
    this.directory.set(name, threadId);
  }

  /** Connects this thread to another one: envelopes for its actors go through `link`. */
  connect(threadId: number, link: RemoteLink): void {
    this.links.set(threadId, link);
  }

  has(name: string): boolean {
    return this.cells.has(name) || this.directory.has(name);
  }

  /**
   * Fire-and-forget send. Returns false when the message could not be
   * queued: an unknown name (dead letter) or a full ring to another thread
   * (backpressure: the caller must slow down or fail the work, never assume
   * it was delivered).
   */
  send<M extends Message>(to: string, msg: M): boolean {
    return this.route(to, msg, undefined);
  }

  /**
   * Request/reply without a promise: `cb` runs exactly once, with the reply
   * or with an error record ('kernel.ask-timeout', 'kernel.actor-crashed',
   * 'kernel.dead-letter', 'kernel.backpressure').
   */
  askCb<M extends Message>(to: string, msg: M, timeoutMs: number, cb: AskCallback): void {
    const askId = this.nextAskId++;
    this.pending.set(askId, { cb, deadline: Date.now() + timeoutMs, to, kind: msg.kind, timeoutMs });
    if (!this.sweepTimer) this.startSweep();
    if (!this.route(to, msg, { threadId: this.threadId, askId })) {
      const p = this.pending.get(askId);
      if (!p) return;
      this.pending.delete(askId);
      const code = this.cells.has(to) || this.directory.has(to) ? 'kernel.backpressure' : 'kernel.dead-letter';
      p.cb({ code, status: 503, message: `could not deliver ${msg.kind} to '${to}' (${code === 'kernel.backpressure' ? 'ring full' : 'no such actor'})`, retryable: true, source: `thread-${this.threadId}` }, undefined);
    }
  }

  ask<T>(to: string, msg: Message & { readonly [field: string]: unknown }, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.askCb(to, msg, timeoutMs, (err, value) => {
        if (err) reject(new ZproxyError(err));
        else resolve(value as T);
      });
    });
  }

  reply(to: ReplyAddress, value: unknown): void {
    if (to.threadId === this.threadId) this.settle(to.askId, undefined, value);
    else this.sendRemote(to.threadId, { t: 'reply', askId: to.askId, ok: true, value });
  }

  replyError(to: ReplyAddress, error: ErrorRecord): void {
    if (to.threadId === this.threadId) this.settle(to.askId, error, undefined);
    else this.sendRemote(to.threadId, { t: 'reply', askId: to.askId, ok: false, error });
  }

  /** Entry point for envelopes arriving from another thread's ring. */
  deliver(envelope: Envelope): void {
    if (envelope.t === 'reply') {
      if (envelope.ok) this.settle(envelope.askId, undefined, envelope.value);
      else this.settle(envelope.askId, envelope.error, undefined);
      return;
    }
    if (!this.enqueueLocal(envelope.to, envelope.msg, envelope.replyTo) && envelope.replyTo) {
      this.replyError(envelope.replyTo, { code: 'kernel.dead-letter', status: 503, message: `no actor '${envelope.to}' on thread ${this.threadId}`, retryable: true, source: `thread-${this.threadId}` });
    }
  }

  stats(): SystemStats {
    const actors: ActorStats[] = [];
    for (const c of this.cells.values()) actors.push({ name: c.name, mailboxDepth: c.mailbox.size, processed: c.processed, restarts: c.restarts });
    return { threadId: this.threadId, actors, ...this.counters, pendingAsks: this.pending.size };
  }

  // ---- SupervisorHost -------------------------------------------------------

  startChild(spec: ChildSpec<any>, parent: SupervisorNode): void {
    const previous = this.cells.get(spec.name);
    const actor = spec.start();
    if (previous) {
      // A restart keeps the mailbox (messages sent during the restart are not lost) and the counters.
      previous.actor = actor;
      previous.stopped = false;
      previous.restarts++;
      if (previous.mailbox.size > 0) this.schedule(previous);
      return;
    }
    this.specsByName.set(spec.name, spec);
    this.cells.set(spec.name, { name: spec.name, actor, mailbox: new Mailbox<Item>(), supervisor: parent, scheduled: false, processed: 0, restarts: 0, stopped: false });
  }

  stopChild(name: string, reason: ErrorRecord | undefined): void {
    const cell = this.cells.get(name);
    if (!cell || cell.stopped) return;
    cell.stopped = true;
    try {
      cell.actor.terminate?.(reason);
    } catch {
      // terminate() failing must not stop the supervisor from restarting the actor.
    }
    // Asks queued for the dead instance fail now, so their senders answer
    // their clients instead of waiting for a timeout.
    const err: ErrorRecord = reason
      ? { code: 'kernel.actor-crashed', status: 500, message: `actor '${name}' crashed: ${reason.message}`, retryable: false, source: name }
      : { code: 'kernel.actor-stopped', status: 503, message: `actor '${name}' stopped`, retryable: true, source: name };
    cell.mailbox.drainTo((item) => {
      if (item.replyTo) this.replyError(item.replyTo, err);
      else this.counters.deadLetters++;
    });
    if (!reason) {
      this.cells.delete(name);
      this.specsByName.delete(name);
    }
  }

  forgetChild(name: string): void {
    this.cells.delete(name);
    this.specsByName.delete(name);
  }

  escalateFromRoot(error: ErrorRecord, supervisor: string): void {
    if (this.options.onEscalate) this.options.onEscalate(error, supervisor);
    else throw new ZproxyError({ ...error, message: `supervisor '${supervisor}' gave up: ${error.message}` });
  }

  now(): number {
    return Date.now();
  }

  onSupervisorEvent(event: SupervisorEvent): void {
    this.options.onSupervisorEvent?.(event);
  }

  // ---- internals ------------------------------------------------------------

  private route(to: string, msg: Message, replyTo: ReplyAddress | undefined): boolean {
    this.counters.sent++;
    if (this.enqueueLocal(to, msg, replyTo)) return true;
    const threadId = this.directory.get(to);
    if (threadId === undefined) {
      this.counters.deadLetters++;
      return false;
    }
    return this.sendRemote(threadId, replyTo ? { t: 'send', to, msg, replyTo } : { t: 'send', to, msg });
  }

  private enqueueLocal(to: string, msg: Message, replyTo: ReplyAddress | undefined): boolean {
    const cell = this.cells.get(to);
    if (!cell) return false;
    cell.mailbox.push({ msg, replyTo });
    if (!cell.stopped) this.schedule(cell);
    return true;
  }

  private sendRemote(threadId: number, envelope: Envelope): boolean {
    const link = this.links.get(threadId);
    if (!link) {
      this.counters.deadLetters++;
      return false;
    }
    if (link(envelope)) {
      this.counters.remoteSent++;
      return true;
    }
    this.counters.remoteBackpressure++;
    return false;
  }

  private schedule(cell: Cell): void {
    if (cell.scheduled) return;
    cell.scheduled = true;
    this.ready.push(cell);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      queueMicrotask(this.drainFn);
    }
  }

  private drain(): void {
    let budget = BATCH_PER_DRAIN;
    for (let cell = this.ready.shift(); cell !== undefined; cell = this.ready.shift()) {
      cell.scheduled = false;
      let n = 0;
      while (n < BATCH_PER_ACTOR && !cell.stopped) {
        const item = cell.mailbox.shift();
        if (item === undefined) break;
        n++;
        this.current = item;
        this.currentCell = cell;
        try {
          cell.actor.receive(item.msg, this.ctx);
          cell.processed++;
        } catch (err) {
          this.crash(cell, item, err);
        }
      }
      this.current = undefined;
      this.currentCell = undefined;
      if (cell.mailbox.size > 0 && !cell.stopped) {
        cell.scheduled = true;
        this.ready.push(cell);
      }
      budget -= n;
      if (budget <= 0 && this.ready.size > 0) {
        // Yield to I/O: a hot actor must not starve sockets on this thread.
        setImmediate(this.drainFn);
        return;
      }
    }
    this.drainScheduled = false;
  }

  private crash(cell: Cell, item: Item, err: unknown): void {
    const record = toErrorRecord(err, cell.name);
    // The message that crashed the actor fails with the crash, like its in-flight work.
    if (item.replyTo) this.replyError(item.replyTo, { code: 'kernel.actor-crashed', status: 500, message: `actor '${cell.name}' crashed: ${record.message}`, retryable: false, source: cell.name });
    cell.supervisor.childCrashed(cell.name, record);
  }

  private settle(askId: number, error: ErrorRecord | undefined, value: unknown): void {
    const p = this.pending.get(askId);
    if (!p) return; // already timed out: a late reply is dropped
    this.pending.delete(askId);
    p.cb(error, value);
  }

  private startSweep(): void {
    this.sweepTimer = setInterval(() => {
      const now = Date.now();
      for (const [id, p] of this.pending) {
        if (p.deadline > now) continue;
        this.pending.delete(id);
        this.counters.askTimeouts++;
        p.cb({ code: 'kernel.ask-timeout', status: 504, message: `ask to '${p.to}' (${p.kind}) timed out after ${p.timeoutMs} ms`, retryable: true, source: `thread-${this.threadId}` }, undefined);
      }
      if (this.pending.size === 0 && this.sweepTimer) {
        clearInterval(this.sweepTimer);
        this.sweepTimer = undefined;
      }
    }, ASK_SWEEP_MS);
    // Kept referenced: a pending ask keeps its thread alive until it is answered or times out, like a timer.
  }
}
