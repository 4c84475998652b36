import { toErrorRecord, type ErrorRecord } from '../../src/kernel/errors.js';
import type { ControlClient, ControlResult } from './control-plane.js';
import type { RuntimeConfig, RuntimeListenerConfig } from './runtime-config.js';

/**
 * A config reload across workers, all or none: every worker prepares the new
 * config (validates, builds routes, loads certificates) without applying it;
 * only when all said yes does each commit. One refusal aborts everyone, so
 * no client ever sees two workers answering with different routes for long.
 */

export interface ReloadParticipant {
  readonly workerId: number;
  readonly control: ControlClient;
}

export type PhaseOutcome =
  | { readonly ok: true; readonly committed: readonly number[]; readonly failedCommits: ReadonlyArray<{ workerId: number; error: ErrorRecord }> }
  | { readonly ok: false; readonly error: string };

async function callAll(participants: readonly ReloadParticipant[], call: (p: ReloadParticipant) => Promise<ControlResult>): Promise<ControlResult[]> {
  return Promise.all(participants.map((p) => call(p).catch((err: unknown): ControlResult => ({ ok: false, error: toErrorRecord(err, `worker-${p.workerId}`) }))));
}

/** `beforeCommit` runs once every participant prepared, before any commits (a listener change closes removed sockets there). */
export async function runTwoPhaseReload(participants: readonly ReloadParticipant[], reloadId: number, config: RuntimeConfig, timeoutMs: number, beforeCommit: () => void | Promise<void>): Promise<PhaseOutcome> {
  const votes = await callAll(participants, (p) => p.control.call('prepareReload', [reloadId, config], timeoutMs));
  const refusals: string[] = [];
  votes.forEach((v, i) => {
    if (!v.ok) refusals.push(`worker ${participants[i]!.workerId}: ${v.error.message}`);
  });
  if (refusals.length > 0) {
    // Abort everywhere, refusers included: a timed-out prepare may still complete later.
    await callAll(participants, (p) => p.control.call('abortReload', [reloadId], timeoutMs));
    return { ok: false, error: refusals.join('; ') };
  }
  await beforeCommit();
  const commits = await callAll(participants, (p) => p.control.call('commitReload', [reloadId], timeoutMs));
  const committed: number[] = [];
  const failedCommits: Array<{ workerId: number; error: ErrorRecord }> = [];
  commits.forEach((c, i) => {
    const workerId = participants[i]!.workerId;
    if (c.ok) committed.push(workerId);
    else failedCommits.push({ workerId, error: c.error });
  });
  return { ok: true, committed, failedCommits };
}

/** For a pool that refuses listener changes (WorkerPoolOptions.listenerChanges): what differs, or undefined. */
export function listenerChange(before: readonly RuntimeListenerConfig[], after: readonly RuntimeListenerConfig[]): string | undefined {
  const key = (l: RuntimeListenerConfig): string => `${l.name} ${l.address}:${l.port} ${l.mode}`;
  const a = before.map(key).join(', ');
  const b = after.map(key).join(', ');
  return a === b ? undefined : `listeners changed from [${a}] to [${b}]`;
}
