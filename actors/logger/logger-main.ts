/**
 * The logger actor's thread. Drains one SPSC ring per worker (workers write
 * access entries, never wait), formats lines with the compiled format and
 * writes them through SonicBoom, pino's non-blocking file writer. When the
 * sink stalls, SonicBoom's bounded buffer drops and counts instead of growing.
 */
import { parentPort } from 'node:worker_threads';
import sonicBoomModule, { type SonicBoom } from 'sonic-boom';

// sonic-boom is CommonJS: its constructor is the default export at run time.
const SonicBoomCtor = sonicBoomModule as unknown as typeof SonicBoom;
import { SpscRing } from '../../src/kernel/ring.js';
import type { LoggingConfig } from '../../src/config/types.js';
import { entryFromWire, type AccessEntry, type AccessEntryWire } from './access-entry.js';
import { compileAccessFormat } from './access-log-format.js';
import type { LoggerCommand, LoggerEvent, LoggerStats } from './logger-messages.js';

/** Largest backlog the sink may hold before it drops lines: a stalled disk costs at most this much memory. */
const SINK_MAX_BYTES = 16 * 1024 * 1024;
/** Records formatted per turn before yielding, so control messages are not starved. */
const BATCH = 1024;

const port = parentPort!;
const rings = new Map<number, SpscRing>();
let format: (e: AccessEntry) => string = () => '';
let sink: SonicBoom | undefined;
let sinkPath = '';
let lines = 0;
let sinkDrops = 0;
let scheduled = false;

function post(e: LoggerEvent): void {
  port.postMessage(e);
}

function openSink(path: string): SonicBoom {
  const dest = path === '/dev/stdout' ? 1 : path === '/dev/stderr' ? 2 : path;
  const s = new SonicBoomCtor({ dest, sync: false, mkdir: true, maxLength: SINK_MAX_BYTES });
  s.on('drop', () => { sinkDrops++; });
  s.on('error', (err: Error) => post({ kind: 'logger.sink-failed', message: `access log ${path}: ${err.message}` }));
  return s;
}

function configure(logging: LoggingConfig): void {
  const access = logging.access;
  format = compileAccessFormat(access.format, access.json);
  if (!access.enabled) return;
  if (sink && sinkPath === access.path) return;
  sink?.end();
  sinkPath = access.path;
  sink = openSink(access.path);
}

function drainAll(): void {
  scheduled = false;
  let more = false;
  for (const ring of rings.values()) {
    let out = '';
    const n = ring.drain((v) => { out += format(entryFromWire(v as AccessEntryWire)); }, BATCH);
    if (n > 0) {
      lines += n;
      if (sink) sink.write(out);
    }
    if (n === BATCH) more = true;
  }
  if (more) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(drainAll);
}

function watch(ring: SpscRing): void {
  const loop = (): void => {
    schedule();
    void ring.waitForData().then(loop);
  };
  loop();
}

function stats(): LoggerStats {
  return {
    lines,
    sinkDrops,
    rings: [...rings].map(([slot, r]) => {
      const s = r.stats();
      return { slot, usedBytes: s.usedBytes, capacityBytes: s.capacityBytes, written: s.written, read: s.read, drops: s.drops };
    }),
  };
}

port.on('message', (cmd: LoggerCommand) => {
  switch (cmd.kind) {
    case 'logger.attach-ring': {
      if (rings.has(cmd.slot)) return;
      const ring = SpscRing.attach(cmd.ring);
      rings.set(cmd.slot, ring);
      watch(ring);
      return;
    }
    case 'logger.reopen':
      // logrotate moved the file: SonicBoom reopens the same path.
      sink?.reopen();
      return;
    case 'logger.configure':
      configure(cmd.logging);
      return;
    case 'logger.stats':
      drainAll();
      post({ kind: 'logger.stats-reported', id: cmd.id, stats: stats() });
      return;
    case 'logger.flush-and-stop':
      drainAll();
      if (!sink) {
        post({ kind: 'logger.stopped', id: cmd.id });
        return;
      }
      sink.flush((err?: Error) => {
        void err;
        post({ kind: 'logger.stopped', id: cmd.id });
      });
      return;
  }
});

post({ kind: 'logger.ready' });
