/**
 * Worker side of the HTTP metrics: turns each finished exchange (the
 * AccessRecord the session hands its sink) and each client connection into
 * additions to this worker's shared-memory metrics slot. No message leaves
 * the thread; the main thread sums the slots when it is scraped.
 *
 * Hot path (record): one Map lookup for the route, two switch-classified
 * indices, an array lookup for the counter index, two histogram observes.
 * Series are registered on first use, so only combinations actually seen
 * take memory.
 */
import { observe, type HistogramHandle, type MetricsWriter } from '../../src/kernel/shared-metrics.js';
import type { AccessRecord } from '../session-http1/access-record.js';
import { LATENCY_BOUNDS_SECONDS, METHOD_CLASSES, STATUS_CLASSES, WORKER_FAMILIES as F, labelValue } from './metric-families.js';

const CELLS = METHOD_CLASSES.length * STATUS_CLASSES.length;
const STATUS_OTHER = STATUS_CLASSES.length - 1;

/** Index into METHOD_CLASSES; a switch on interned strings is cheaper than a Map here. */
export function methodClass(method: string): number {
  switch (method) {
    case 'GET': return 0;
    case 'HEAD': return 1;
    case 'POST': return 2;
    case 'PUT': return 3;
    case 'DELETE': return 4;
    default: return 5;
  }
}

/** Index into STATUS_CLASSES. */
export function statusClass(status: number): number {
  return status >= 100 && status < 600 ? ((status / 100) | 0) - 1 : STATUS_OTHER;
}

interface RouteSeries {
  readonly label: string;
  /** Counter index per method class x status class; -1 until first seen. */
  readonly cells: Int32Array;
  readonly duration: HistogramHandle;
  readonly upstream: HistogramHandle | undefined;
}

/** The `protocol` label of connection and byte series. */
export type ConnectionProtocol = 'http1' | 'h2' | 'stream';

/** An access record's protocol ("HTTP/1.1", "HTTP/2.0", "TCP", "TLS") as its series label. */
function protocolOfRecord(protocol: string): ConnectionProtocol {
  if (protocol === 'HTTP/2.0') return 'h2';
  if (protocol === 'TCP' || protocol === 'TLS') return 'stream';
  return 'http1';
}

interface ProtocolSeries {
  readonly received: number;
  readonly sent: number;
  readonly connections: number;
  readonly active: number;
}

export class HttpMetricsRecorder {
  private readonly values: Float64Array;
  private routes = new Map<string, RouteSeries>();
  /** Route name -> upstream group name, from the running config. */
  private routeUpstreams: ReadonlyMap<string, string>;
  /** Series per connection protocol, registered on first use so an HTTP/1-only proxy exports no empty h2/stream series. */
  private readonly series = new Map<ConnectionProtocol, ProtocolSeries>();
  /** One 'close' listener per protocol, shared by every connection (no closure per connection). */
  private readonly closers = new Map<ConnectionProtocol, () => void>();

  constructor(private readonly writer: MetricsWriter, routeUpstreams: ReadonlyMap<string, string>) {
    this.values = writer.values;
    this.routeUpstreams = routeUpstreams;
    this.seriesOf('http1');
  }

  /** A reload changed routes: series are looked up again (registration is idempotent, counts continue). */
  setRoutes(routeUpstreams: ReadonlyMap<string, string>): void {
    this.routeUpstreams = routeUpstreams;
    this.routes = new Map();
  }

  /** One finished exchange. An arrow so it can be handed out as a sink without a bind per call. */
  readonly record = (r: AccessRecord): void => {
    let rs = this.routes.get(r.route);
    if (rs === undefined) rs = this.addRoute(r.route);
    const cell = methodClass(r.method) * STATUS_CLASSES.length + statusClass(r.status);
    let index = rs.cells[cell]!;
    if (index < 0) index = this.addCell(rs, cell);
    const v = this.values;
    v[index]! += 1;
    observe(rs.duration, r.requestTimeMs / 1000);
    if (rs.upstream !== undefined && r.upstreamResponseMs >= 0) observe(rs.upstream, r.upstreamResponseMs / 1000);
    const p = this.seriesOf(protocolOfRecord(r.protocol));
    v[p.received]! += r.bytesReceived;
    v[p.sent]! += r.bytesSent;
  };

  /** A client connection was accepted and detected as `protocol`; returns the listener to attach to its 'close'. */
  connectionOpened(protocol: ConnectionProtocol): () => void {
    const p = this.seriesOf(protocol);
    const v = this.values;
    v[p.connections]! += 1;
    v[p.active]! += 1;
    return this.closers.get(protocol)!;
  }

  private seriesOf(protocol: ConnectionProtocol): ProtocolSeries {
    let p = this.series.get(protocol);
    if (p === undefined) {
      const series = this.protocol(protocol);
      p = series;
      this.series.set(protocol, series);
      this.closers.set(protocol, () => { this.values[series.active]! -= 1; });
    }
    return p;
  }

  private protocol(name: string): ProtocolSeries {
    const labels = `protocol="${name}"`;
    return {
      received: this.writer.counter(F.received.name, labels),
      sent: this.writer.counter(F.sent.name, labels),
      connections: this.writer.counter(F.connections.name, labels),
      active: this.writer.gauge(F.connectionsActive.name, labels),
    };
  }

  private addRoute(route: string): RouteSeries {
    const label = labelValue(route);
    const upstream = this.routeUpstreams.get(route);
    const rs: RouteSeries = {
      label,
      cells: new Int32Array(CELLS).fill(-1),
      duration: this.writer.histogram(F.duration.name, `route="${label}"`, LATENCY_BOUNDS_SECONDS),
      upstream: upstream === undefined ? undefined : this.writer.histogram(F.upstreamDuration.name, `upstream="${labelValue(upstream)}"`, LATENCY_BOUNDS_SECONDS),
    };
    this.routes.set(route, rs);
    return rs;
  }

  private addCell(rs: RouteSeries, cell: number): number {
    const m = METHOD_CLASSES[(cell / STATUS_CLASSES.length) | 0]!;
    const s = STATUS_CLASSES[cell % STATUS_CLASSES.length]!;
    const index = this.writer.counter(F.requests.name, `route="${rs.label}",method="${m}",status="${s}"`);
    rs.cells[cell] = index;
    return index;
  }
}
