/**
 * Route lookup cost in a table of 10 routes and one of 10,000, with the same
 * requests against both: the trie's cost follows the path, so each pair of
 * rows should be about equal. Also times normalizePath's fast and slow paths,
 * which run before every lookup.
 * Run alone: `node dist/bench/micro/router.bench.js` (prints a markdown table).
 */
import { pathToFileURL } from 'node:url'
import { Bench, type FnReturnedObject } from 'tinybench'
import { RouteTable, type RouteEntry } from '../../actors/router/route-table.js'
import { normalizePath } from '../../actors/router/normalize-path.js'

export interface RouterBenchRow {
  name: string
  opsPerSec: number
  nsPerOp: number
}

/**
 * One lookup takes ~100 ns, near the timer's resolution, so each sample
 * times a batch and reports the mean per call (tinybench's documented
 * batching pattern with overriddenDuration).
 */
const CALLS_PER_SAMPLE = 1000

/**
 * A realistic mix cycling through five shapes (API item and collection
 * routes, versioned static trees, docs literals, tenant wildcard hosts with
 * two params), on top of three fixed routes every config has.
 */
function buildRoutes(count: number): Array<RouteEntry<number>> {
  const routes: Array<RouteEntry<number>> = [
    { host: 'www.example.com', path: '/static/*', value: 0 },
    { path: '/health', methods: ['GET'], value: 0 },
    { host: 'www.example.com', path: '/*', value: 0 },
  ]
  for (let i = 0; routes.length < count; i++) {
    const k = Math.floor(i / 5)
    switch (i % 5) {
      case 0:
        routes.push({ host: 'api.example.com', path: `/api/v1/resource${k}/:id`, methods: ['GET', 'PUT', 'DELETE'], value: i })
        break
      case 1:
        routes.push({ host: 'api.example.com', path: `/api/v1/resource${k}`, methods: ['GET', 'POST'], value: i })
        break
      case 2:
        routes.push({ host: 'www.example.com', path: `/static/v${k}/*`, value: i })
        break
      case 3:
        routes.push({ path: `/docs/page${k}`, value: i })
        break
      default:
        routes.push({ host: '*.tenant.example.com', path: `/t/${k}/:section/:item`, value: i })
    }
  }
  return routes
}

interface Lookup {
  label: string
  host: string
  method: string
  path: string
  expect: 'matched' | 'not-found' | 'method-not-allowed'
}

/** Every lookup targets routes present in both tables, so both do the same work. */
const LOOKUPS: Lookup[] = [
  { label: 'param', host: 'api.example.com', method: 'GET', path: '/api/v1/resource0/98765', expect: 'matched' },
  { label: 'literal', host: 'api.example.com', method: 'POST', path: '/api/v1/resource0', expect: 'matched' },
  { label: 'wildcard', host: 'www.example.com', method: 'GET', path: '/static/css/app.min.css', expect: 'matched' },
  { label: 'wildcard host, 2 params', host: 'acme.tenant.example.com:8443', method: 'GET', path: '/t/0/orders/77', expect: 'matched' },
  { label: 'any host', host: 'other.example.org', method: 'GET', path: '/health', expect: 'matched' },
  { label: '404', host: 'other.example.org', method: 'GET', path: '/nope/deep/path', expect: 'not-found' },
  { label: '405', host: 'api.example.com', method: 'DELETE', path: '/api/v1/resource0', expect: 'method-not-allowed' },
]

/**
 * A server parses a new Host and path string for every request. Reusing one
 * string object would let `===` and V8's cached string hashes shortcut work
 * that real traffic pays for, so lookups rotate through distinct copies.
 */
const COPIES = 64

function freshCopies(s: string): string[] {
  return Array.from({ length: COPIES }, () => Buffer.from(s, 'latin1').toString('latin1'))
}

export async function runRouterBench(): Promise<RouterBenchRow[]> {
  const bench = new Bench({ name: 'router', time: 200, warmupTime: 100 })
  let sink = 0
  for (const size of [10, 10_000]) {
    const table = new RouteTable(buildRoutes(size))
    for (const l of LOOKUPS) {
      const got = table.match(l.host, l.method, l.path).kind
      if (got !== l.expect) throw new Error(`bench setup: ${l.label} in ${size} routes gave ${got}, expected ${l.expect}`)
      const hosts = freshCopies(l.host)
      const paths = freshCopies(l.path)
      bench.add(
        `match ${l.label} (${size} routes)`,
        (): FnReturnedObject => {
          const start = bench.now()
          for (let i = 0; i < CALLS_PER_SAMPLE; i++) {
            const c = i & (COPIES - 1)
            sink += table.match(hosts[c], l.method, paths[c]).kind.length
          }
          const elapsedMs = bench.now() - start
          return { overriddenDuration: elapsedMs / CALLS_PER_SAMPLE, overriddenIterationCost: elapsedMs }
        },
        { async: false },
      )
    }
  }
  const normalizeCases: Array<[string, string]> = [
    ['normalizePath fast path (already normal)', '/api/v1/resource12/98765'],
    ['normalizePath slow path (dots, escapes)', '/api/./v1//%72esource12/../resource12/%7e98765'],
  ]
  for (const [name, raw] of normalizeCases) {
    bench.add(
      name,
      (): FnReturnedObject => {
        const start = bench.now()
        for (let i = 0; i < CALLS_PER_SAMPLE; i++) sink += normalizePath(raw)!.length
        const elapsedMs = bench.now() - start
        return { overriddenDuration: elapsedMs / CALLS_PER_SAMPLE, overriddenIterationCost: elapsedMs }
      },
      { async: false },
    )
  }
  await bench.run()
  if (sink === 0) throw new Error('bench: results were never consumed')
  return bench.tasks.map((task) => {
    const result = task.result
    if (!('latency' in result)) throw new Error(`bench: task ${task.name} ended in state ${result.state}`)
    const nsPerOp = result.latency.mean * 1e6
    return { name: task.name, opsPerSec: 1e9 / nsPerOp, nsPerOp }
  })
}

export function routerBenchMarkdown(rows: RouterBenchRow[]): string {
  const lines = ['| task | ns/op | ops/s |', '| --- | ---: | ---: |']
  for (const r of rows) lines.push(`| ${r.name} | ${r.nsPerOp.toFixed(1)} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} |`)
  return lines.join('\n')
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runRouterBench()
  console.log(`node ${process.version}\n`)
  console.log(routerBenchMarkdown(rows))
}
