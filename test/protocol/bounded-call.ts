/**
 * Runs a synchronous function under a wall-clock bound, for fuzz properties
 * over the pure codecs. Why not the test's own `timeout`: node:test's timer
 * cannot fire while a synchronous parser loops forever, so a hang would stall
 * the whole suite instead of failing. `vm`'s timeout runs a watchdog thread
 * that terminates whatever JavaScript is on the stack, including functions
 * defined outside the context, and turns it into an exception: fast-check
 * then sees a failing run and shrinks it like any other counterexample.
 * Measured ~150 µs per call on the 2-core box (one watchdog per call).
 */
import vm from 'node:vm';

const context = vm.createContext({ fn: undefined as unknown, out: undefined as unknown });
const script = new vm.Script('out = fn()');

/** Thrown when the call did not return within its bound: the code under test looped (or nearly). */
export class UnboundedRunError extends Error {
  override readonly name = 'UnboundedRunError';
  constructor(readonly boundMs: number) {
    super(`call did not return within ${boundMs} ms (loop in the code under test?)`);
  }
}

/** Calls fn() and returns its result; throws UnboundedRunError past boundMs. Other exceptions pass through. */
export function boundedCall<T>(fn: () => T, boundMs = 5000): T {
  context.fn = fn;
  try {
    script.runInContext(context, { timeout: boundMs });
    return context.out as T;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new UnboundedRunError(boundMs);
    throw err;
  } finally {
    context.fn = undefined;
    context.out = undefined;
  }
}
