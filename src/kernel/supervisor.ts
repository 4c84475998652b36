import type { ChildSpec, RestartIntensity, RestartStrategy, SupervisorSpec } from './actor.js';
import { isSupervisorSpec } from './actor.js';
import type { ErrorRecord } from './errors.js';

/** The operations a supervisor needs from the actor system that hosts it. */
export interface SupervisorHost {
  startChild(spec: ChildSpec<any>, parent: SupervisorNode): void;
  stopChild(name: string, reason: ErrorRecord | undefined): void;
  /** Drops a stopped child's cell for good (temporary children, removed children). */
  forgetChild(name: string): void;
  /** Called when the root supervisor gives up: the thread's owner decides (a worker exits). */
  escalateFromRoot(error: ErrorRecord, supervisor: string): void;
  now(): number;
  /** Supervision events for stats and logs. */
  onSupervisorEvent(event: SupervisorEvent): void;
}

export type SupervisorEvent =
  | { readonly kind: 'supervisor.child-restarted'; readonly supervisor: string; readonly child: string; readonly error: ErrorRecord }
  | { readonly kind: 'supervisor.child-removed'; readonly supervisor: string; readonly child: string; readonly error: ErrorRecord }
  | { readonly kind: 'supervisor.escalated'; readonly supervisor: string; readonly error: ErrorRecord };

/**
 * One node of the supervision tree (OTP supervisor): owns child specs, a
 * restart strategy and a restart intensity. Past the intensity it stops its
 * children and escalates to its parent, which treats the whole subtree as
 * one crashed child; the root escalates to the host (worker -> main thread).
 */
export class SupervisorNode {
  readonly name: string;
  private readonly strategy: RestartStrategy;
  private readonly intensity: RestartIntensity;
  private readonly specs: Array<ChildSpec<any> | SupervisorSpec>;
  private readonly subtrees = new Map<string, SupervisorNode>();
  private restartTimes: number[] = [];
  restarts = 0;

  constructor(spec: SupervisorSpec, private readonly host: SupervisorHost, private readonly parent: SupervisorNode | undefined) {
    this.name = spec.name;
    this.strategy = spec.strategy;
    this.intensity = spec.intensity;
    this.specs = [...spec.children];
  }

  /** Starts every child in order (OTP starts children left to right). */
  startAll(): void {
    for (const spec of this.specs) this.startSpec(spec);
  }

  /** Stops every child in reverse start order. */
  stopAll(reason: ErrorRecord | undefined): void {
    for (let i = this.specs.length - 1; i >= 0; i--) this.stopSpec(this.specs[i]!, reason);
  }

  /** Adds a child at run time (dynamic children, like OTP start_child). */
  addChild(spec: ChildSpec<any> | SupervisorSpec): void {
    this.specs.push(spec);
    this.startSpec(spec);
  }

  /** Removes a child for good, stopping it first. */
  removeChild(name: string): void {
    const i = this.specs.findIndex((s) => s.name === name);
    if (i < 0) return;
    const spec = this.specs[i]!;
    this.stopSpec(spec, undefined);
    if (!isSupervisorSpec(spec)) this.host.forgetChild(name);
    this.specs.splice(i, 1);
  }

  /** A child actor (or a child subtree that escalated) crashed with `error`. */
  childCrashed(childName: string, error: ErrorRecord): void {
    const spec = this.specs.find((s) => s.name === childName);
    if (!spec) return;
    if (!this.allowRestart()) {
      this.host.onSupervisorEvent({ kind: 'supervisor.escalated', supervisor: this.name, error });
      this.stopAll(error);
      if (this.parent) this.parent.childCrashed(this.name, error);
      else this.host.escalateFromRoot(error, this.name);
      return;
    }
    this.restarts++;
    if (this.strategy === 'one-for-all') {
      this.stopAll(error);
      for (const s of this.specs) this.host.onSupervisorEvent({ kind: 'supervisor.child-restarted', supervisor: this.name, child: s.name, error });
      for (const s of this.specs) if (!isSupervisorSpec(s) && s.restart === 'temporary') this.host.forgetChild(s.name);
      this.specs.splice(0, this.specs.length, ...this.specs.filter((s) => isSupervisorSpec(s) || s.restart !== 'temporary'));
      this.startAll();
      return;
    }
    this.stopSpec(spec, error);
    if (!isSupervisorSpec(spec) && spec.restart === 'temporary') {
      this.specs.splice(this.specs.indexOf(spec), 1);
      this.host.forgetChild(childName);
      this.host.onSupervisorEvent({ kind: 'supervisor.child-removed', supervisor: this.name, child: childName, error });
      return;
    }
    this.host.onSupervisorEvent({ kind: 'supervisor.child-restarted', supervisor: this.name, child: childName, error });
    this.startSpec(spec);
  }

  /** Sliding window of restart times: more than maxRestarts within withinMs means give up. */
  private allowRestart(): boolean {
    const now = this.host.now();
    const from = now - this.intensity.withinMs;
    this.restartTimes = this.restartTimes.filter((t) => t > from);
    if (this.restartTimes.length >= this.intensity.maxRestarts) return false;
    this.restartTimes.push(now);
    return true;
  }

  private startSpec(spec: ChildSpec<any> | SupervisorSpec): void {
    if (isSupervisorSpec(spec)) {
      const node = new SupervisorNode(spec, this.host, this);
      this.subtrees.set(spec.name, node);
      node.startAll();
    } else {
      this.host.startChild(spec, this);
    }
  }

  private stopSpec(spec: ChildSpec<any> | SupervisorSpec, reason: ErrorRecord | undefined): void {
    if (isSupervisorSpec(spec)) {
      this.subtrees.get(spec.name)?.stopAll(reason);
      this.subtrees.delete(spec.name);
    } else {
      this.host.stopChild(spec.name, reason);
    }
  }
}
