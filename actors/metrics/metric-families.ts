/**
 * Every metric zproxy exposes: its Prometheus name, type and help, in one
 * place, so the workers that record, the exposition that writes and the
 * tests that parse agree on the names. Label sets are listed in the help.
 */

export type FamilyType = 'counter' | 'gauge' | 'histogram';

export interface Family {
  readonly name: string;
  readonly type: FamilyType;
  readonly help: string;
}

function family(name: string, type: FamilyType, help: string): Family {
  return { name, type, help };
}

/**
 * Latency buckets in seconds: Prometheus' default set (5 ms .. 10 s) extended
 * down to 100 µs, because a proxied request on a LAN takes 0.1-1 ms
 * (docs/PERFORMANCE.md) and would otherwise all land in the first bucket.
 */
export const LATENCY_BOUNDS_SECONDS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const METHOD_CLASSES = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OTHER'] as const;
/** 'other' holds exchanges that ended without a status (connection lost before a response). */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'] as const;

/** Recorded by the workers into shared memory (actors/metrics/http-metrics-recorder.ts, worker-vitals.ts). */
export const WORKER_FAMILIES = {
  requests: family('zproxy_http_requests_total', 'counter', 'HTTP exchanges finished, by route, method class (GET HEAD POST PUT DELETE OTHER) and status class.'),
  duration: family('zproxy_http_request_duration_seconds', 'histogram', 'Time from the first byte of a request to the end of its response, by route.'),
  upstreamDuration: family('zproxy_upstream_response_seconds', 'histogram', 'Time from asking an upstream for a connection to its first response byte, by upstream group.'),
  received: family('zproxy_http_received_bytes_total', 'counter', 'Bytes received from clients, by protocol.'),
  sent: family('zproxy_http_sent_bytes_total', 'counter', 'Bytes sent to clients, by protocol.'),
  connections: family('zproxy_connections_total', 'counter', 'Client connections accepted, by protocol.'),
  connectionsActive: family('zproxy_connections_active', 'gauge', 'Client connections open now, by protocol.'),
  upstreamRequests: family('zproxy_upstream_requests_total', 'counter', 'Upstream connections handed to a request (new or reused), by upstream group.'),
  upstreamReused: family('zproxy_upstream_reused_total', 'counter', 'Requests that reused an idle keep-alive upstream connection, by upstream group.'),
  upstreamConnects: family('zproxy_upstream_connects_total', 'counter', 'New upstream connections attempted, by upstream group.'),
  upstreamConnectFailures: family('zproxy_upstream_connect_failures_total', 'counter', 'Upstream connects that failed or timed out, by upstream group.'),
  upstreamIdle: family('zproxy_upstream_idle_connections', 'gauge', 'Idle keep-alive upstream connections, by upstream group.'),
  loopDelayP50: family('zproxy_worker_event_loop_delay_p50_seconds', 'gauge', 'Median event-loop delay of a worker over the last second (perf_hooks.monitorEventLoopDelay).'),
  loopDelayP99: family('zproxy_worker_event_loop_delay_p99_seconds', 'gauge', '99th percentile event-loop delay of a worker over the last second.'),
  loopDelayMax: family('zproxy_worker_event_loop_delay_max_seconds', 'gauge', 'Largest event-loop delay of a worker over the last second.'),
  loopUtilization: family('zproxy_worker_event_loop_utilization', 'gauge', 'Fraction of the last second a worker\'s event loop was busy (performance.eventLoopUtilization).'),
  cpuSeconds: family('zproxy_worker_cpu_seconds_total', 'counter', 'CPU time (user + system) of a worker thread (process.threadCpuUsage; absent on Node < 23.9).'),
  cpuUtilization: family('zproxy_worker_cpu_utilization', 'gauge', 'CPU time of a worker thread over the last second, as a fraction of one core.'),
} as const;

/** Written by the main thread at scrape time from the pool, the rings, the health state and the process. */
export const MAIN_FAMILIES = {
  workerInfo: family('zproxy_worker_info', 'gauge', 'One per worker slot; labels: worker, state, cpu (pinned core or "none"), numa_node, tid.'),
  workerRestarts: family('zproxy_worker_restarts_total', 'counter', 'Respawns of a worker slot.'),
  workerOpen: family('zproxy_worker_open_connections', 'gauge', 'Connections a worker holds now (shared counter, readable even from a hung worker).'),
  workerHeartbeatAge: family('zproxy_worker_heartbeat_age_seconds', 'gauge', 'Time since a worker\'s last heartbeat.'),
  mailboxDepth: family('zproxy_actor_mailbox_depth', 'gauge', 'Messages waiting in an actor\'s mailbox, by worker and actor.'),
  processed: family('zproxy_actor_messages_processed_total', 'counter', 'Messages an actor handled, by worker and actor.'),
  actorRestarts: family('zproxy_actor_restarts_total', 'counter', 'Restarts of an actor by its supervisor, by worker and actor.'),
  remoteBackpressure: family('zproxy_actor_remote_backpressure_total', 'counter', 'Cross-thread sends refused because the ring was full, by worker.'),
  ringUsed: family('zproxy_ring_used_bytes', 'gauge', 'Bytes waiting in a shared-memory ring, by ring.'),
  ringCapacity: family('zproxy_ring_capacity_bytes', 'gauge', 'Capacity of a shared-memory ring, by ring.'),
  ringFill: family('zproxy_ring_fill_ratio', 'gauge', 'Used bytes over capacity of a ring, by ring.'),
  ringBackpressure: family('zproxy_ring_backpressure_total', 'counter', 'Writes a full ring refused (the producer retried or shed), by ring.'),
  ringDrops: family('zproxy_ring_drops_total', 'counter', 'Records a full ring dropped, by ring.'),
  upstreamActive: family('zproxy_upstream_host_active_connections', 'gauge', 'Upstream connections carrying a request now, over all workers, by upstream group and host.'),
  upstreamHealthy: family('zproxy_upstream_host_healthy', 'gauge', '1 when traffic may use the host (not down by active checks, not ejected), else 0.'),
  upstreamEjected: family('zproxy_upstream_host_ejected', 'gauge', '1 while a host is passively ejected after failures on traffic.'),
  upstreamReuseRatio: family('zproxy_upstream_reuse_ratio', 'gauge', 'Share of upstream requests that reused a keep-alive connection, by upstream group.'),
  supervisorRestarts: family('zproxy_supervisor_worker_restarts_total', 'counter', 'Worker respawns by the main supervisor.'),
  supervisorCrashes: family('zproxy_supervisor_worker_crashes_total', 'counter', 'Workers that exited or crashed unexpectedly.'),
  supervisorHangs: family('zproxy_supervisor_worker_hangs_total', 'counter', 'Workers terminated by the watchdog for missing heartbeats.'),
  reloads: family('zproxy_config_reloads_total', 'counter', 'Config reloads applied.'),
  reloadFailures: family('zproxy_config_reload_failures_total', 'counter', 'Config reloads rejected.'),
  configGeneration: family('zproxy_config_generation', 'gauge', 'Generation of the running config (1 at start, +1 per applied reload).'),
  rss: family('zproxy_process_resident_memory_bytes', 'gauge', 'Resident set size of the whole process (all threads).'),
  uptime: family('zproxy_process_uptime_seconds', 'gauge', 'Seconds since zproxy started.'),
  droppedSeries: family('zproxy_metrics_series_dropped_total', 'counter', 'Metric series not recorded because a worker\'s metrics memory was full.'),
} as const;

const BY_NAME = new Map<string, Family>([...Object.values(WORKER_FAMILIES), ...Object.values(MAIN_FAMILIES)].map((f) => [f.name, f]));

export function familyByName(name: string): Family | undefined {
  return BY_NAME.get(name);
}

/** Escapes a label value for the text format: backslash, double quote and newline. */
export function labelValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    out += c === '\\' ? '\\\\' : c === '"' ? '\\"' : c === '\n' ? '\\n' : c;
  }
  return out;
}
