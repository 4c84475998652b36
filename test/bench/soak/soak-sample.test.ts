import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFdTarget, countsFromStats, openFds } from '../../../bench/soak/soak-sample.js';

describe('soak samples', { timeout: 10_000 }, () => {
  test('fd targets are classified as socket, pipe, anon inode or file', () => {
    assert.deepEqual(
      ['socket:[123]', 'pipe:[9]', 'anon_inode:[eventfd]', 'anon_inode:[eventpoll]', '/dev/null', '/tmp/x.log'].map(classifyFdTarget),
      ['socket', 'pipe', 'anonInode', 'anonInode', 'file', 'file'],
    );
  });

  test('open fds of this process add up across kinds', () => {
    const fds = openFds(process.pid);
    assert.ok(fds.total >= 3);
    assert.equal(fds.kinds.socket + fds.kinds.pipe + fds.kinds.anonInode + fds.kinds.file, fds.total);
  });

  test('/stats counters are summed over workers, HTTP/2 streams counted as requests', () => {
    const stats = {
      pool: {
        workers: [
          { restarts: 1, app: { connections: 2, streams: 1, h2Sessions: 1, h2Streams: 3, requestsTotal: 100, h2StreamsTotal: 40, streamsTotal: 7, upstreams: [{ active: 1, idle: 4 }, { active: 0, idle: 2 }], overload: { heapUsedBytes: 1000 }, memory: { externalBytes: 300 } } },
          { restarts: 0, app: { connections: 3, streams: 0, h2Sessions: 0, h2Streams: 0, requestsTotal: 50, h2StreamsTotal: 0, streamsTotal: 3, upstreams: [{ active: 2, idle: 1 }], overload: { heapUsedBytes: 500 }, memory: { externalBytes: 200 } } },
        ],
      },
    };
    assert.deepEqual(countsFromStats(stats), {
      connections: 5, streams: 1, h2Sessions: 1, h2Streams: 3, upstreamActive: 3, upstreamIdle: 7,
      requests: 190, streamsTotal: 10, workerRestarts: 1, workerHeapUsedBytes: 1500, workerExternalBytes: 500,
    });
  });

  test('a /stats without workers counts zero everywhere', () => {
    assert.deepEqual(Object.values(countsFromStats({})), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});
