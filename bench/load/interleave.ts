// One scenario, subjects interleaved: warm-up A B C (not counted), then
// round 1 A B C, round 2 A B C, ... Interleaving spreads slow drifts of the
// machine (other load, thermal, page cache) over all subjects instead of
// charging them to whichever ran last.

import { runLoad, type LoadResult, type LoadRun } from './load-generator.js';
import { stopProcess } from './process-group.js';
import { sampleTreeRss, treeCpuMicros, type RssSampler } from './proc-stats.js';
import { summarize, type RoundMeasure, type SubjectOutcome } from './results.js';
import type { Scenario } from './scenarios.js';
import { startSubject, type RunningSubject, type Subject, type SubjectEnv } from './subjects.js';

export interface ScenarioSettings {
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  h2Streams: number;
  loadCpus: string | null;
  log: (line: string) => void;
}

export interface PlannedRun {
  /** 0 is the warm-up round. */
  round: number;
  subjectIndex: number;
}

export function interleavedPlan(subjectCount: number, rounds: number): PlannedRun[] {
  const plan: PlannedRun[] = [];
  for (let round = 0; round <= rounds; round++) {
    for (let subjectIndex = 0; subjectIndex < subjectCount; subjectIndex++) plan.push({ round, subjectIndex });
  }
  return plan;
}

// Lets the previous run's sockets close and the proxy go idle, so one
// subject's tail does not land in the next subject's CPU window.
const SETTLE_MS = 250;

async function measure(running: RunningSubject, load: Omit<LoadRun, 'onWindowStart'>): Promise<RoundMeasure> {
  const pid = running.proc.pid;
  let cpuBefore = Number.NaN;
  let rss: RssSampler | null = null;
  const onWindowStart = (): void => {
    cpuBefore = treeCpuMicros(pid);
    rss = sampleTreeRss(pid);
  };
  const stopSampler = (): number => (rss === null ? Number.NaN : rss.stop());
  let result: LoadResult;
  try {
    result = await runLoad({ ...load, onWindowStart });
  } catch (err) {
    stopSampler();
    throw err;
  }
  const rssPeakBytes = stopSampler();
  const cpuUs = treeCpuMicros(pid) - cpuBefore;
  return { ...result, cpuUs, cpuUsPerRequest: result.requests > 0 ? cpuUs / result.requests : Number.NaN, rssPeakBytes };
}

function failMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function runScenario(
  scenario: Scenario,
  subjects: readonly Subject[],
  upstreamPort: number,
  env: SubjectEnv,
  settings: ScenarioSettings,
): Promise<SubjectOutcome[]> {
  const outcomes: SubjectOutcome[] = subjects.map((s) => ({ name: s.name, label: s.label, status: 'ok', rounds: [] }));
  const running: (RunningSubject | null)[] = subjects.map(() => null);
  const fail = (i: number, status: 'failed' | 'skipped', reason: string): void => {
    outcomes[i].status = status;
    outcomes[i].reason = reason;
    settings.log(`  ${subjects[i].name}: ${status}: ${reason}`);
  };

  for (let i = 0; i < subjects.length; i++) {
    const skip = subjects[i].missing() ?? subjects[i].unsupported(scenario);
    if (skip !== null) {
      fail(i, 'skipped', skip);
      continue;
    }
    try {
      running[i] = await startSubject(subjects[i], scenario, upstreamPort, env);
    } catch (err) {
      fail(i, 'failed', `did not start: ${failMessage(err)}`);
    }
  }

  try {
    for (const { round, subjectIndex: i } of interleavedPlan(subjects.length, settings.rounds)) {
      const subject = running[i];
      if (subject === null || outcomes[i].status !== 'ok') continue;
      const durationS = round === 0 ? settings.warmupS : settings.durationS;
      const load: Omit<LoadRun, 'onWindowStart'> = {
        scenario,
        port: subject.port,
        durationS,
        connections: settings.connections,
        h2Streams: settings.h2Streams,
        cpus: settings.loadCpus,
        tempDir: env.tempDir,
        scriptDir: env.scriptDir,
        extraHeaders: subject.requestHeaders,
      };
      try {
        const m = await measure(subject, load);
        if (subject.proc.hasExited()) throw new Error(`exited during the run: ${subject.proc.outputTail().slice(-400)}`);
        if (round > 0) outcomes[i].rounds.push(m);
        settings.log(
          `  ${round === 0 ? 'warm-up' : `round ${round}`} ${subjects[i].name}: ${Math.round(m.requestsPerS)} req/s, ` +
            `${m.cpuUsPerRequest.toFixed(1)} µs CPU/req, p99 ${(m.p99Us / 1000).toFixed(2)} ms, errors ${m.errors}`,
        );
      } catch (err) {
        fail(i, 'failed', failMessage(err));
      }
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    }
  } finally {
    await Promise.all(running.map((r) => (r === null ? undefined : stopProcess(r.proc))));
  }

  for (const outcome of outcomes) {
    if (outcome.status === 'ok' && outcome.rounds.length > 0) outcome.summary = summarize(outcome.rounds);
  }
  return outcomes;
}
