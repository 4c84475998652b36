import type { AcceptorKind } from '../../src/platform/node-features.js';
import type { SharedCounters } from '../supervisor/shared-counters.js';
import type { MainAcceptor, WorkerAcceptor } from './acceptor-strategy.js';
import { HandoffMainAcceptor, HandoffWorkerAcceptor } from './handoff-acceptor.js';
import { ReusePortMainAcceptor, ReusePortWorkerAcceptor } from './reuseport-acceptor.js';
import { SharedMainAcceptor, SharedWorkerAcceptor } from './shared-acceptor.js';

/** The one place that maps a strategy name to its two halves. */

export interface MainAcceptorDeps {
  readonly counters: SharedCounters;
  readonly staleHeartbeatMs: number;
  readonly onError: (listenerName: string, err: Error) => void;
}

export function createMainAcceptor(kind: AcceptorKind, deps: MainAcceptorDeps): MainAcceptor {
  switch (kind) {
    case 'shared': return new SharedMainAcceptor();
    case 'reuseport': return new ReusePortMainAcceptor();
    case 'handoff': return new HandoffMainAcceptor(deps);
  }
}

export function createWorkerAcceptor(kind: AcceptorKind, onError: (listenerName: string, err: Error) => void): WorkerAcceptor {
  switch (kind) {
    case 'shared': return new SharedWorkerAcceptor(onError);
    case 'reuseport': return new ReusePortWorkerAcceptor(onError);
    case 'handoff': return new HandoffWorkerAcceptor();
  }
}
