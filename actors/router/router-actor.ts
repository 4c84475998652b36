/**
 * The router actor for the `pipelined` and `postmessage` placements: it owns
 * a RouteTable of route indexes on its own thread and answers matches sent
 * by the sessions of a worker. (With the default `local` placement the
 * session calls the same RouteTable directly: no actor hop.)
 * Takes: router.load-routes, router.match. Replies: RouterReply.
 */
import type { Actor, ActorContext } from '../../src/kernel/actor.js';
import { RouteTable, type RouteEntry } from './route-table.js';

export interface RouteSpec {
  readonly host: string[] | undefined;
  readonly path: string;
  readonly methods: string[] | undefined;
}

export type RouterMessage =
  | { readonly kind: 'router.load-routes'; readonly generation: number; readonly routes: readonly RouteSpec[] }
  | { readonly kind: 'router.match'; readonly generation: number; readonly host: string | undefined; readonly method: string; readonly path: string };

/** Compact on purpose: it crosses a thread per request. */
export type RouterReply =
  | { readonly k: 'm'; readonly g: number; readonly i: number; readonly p: Record<string, string>; readonly w: string | undefined }
  | { readonly k: 'nf'; readonly g: number }
  | { readonly k: 'na'; readonly g: number; readonly allow: string[] }
  | { readonly k: 'stale'; readonly g: number };

export class RouterActor implements Actor<RouterMessage> {
  private table: RouteTable<number> | undefined;
  private generation = -1;

  receive(msg: RouterMessage, ctx: ActorContext): void {
    switch (msg.kind) {
      case 'router.load-routes': {
        const entries: Array<RouteEntry<number>> = msg.routes.map((r, i) => ({ host: r.host, path: r.path, methods: r.methods, value: i }));
        this.table = new RouteTable(entries);
        this.generation = msg.generation;
        return;
      }
      case 'router.match': {
        if (!this.table || msg.generation !== this.generation) {
          ctx.reply({ k: 'stale', g: this.generation } satisfies RouterReply);
          return;
        }
        const m = this.table.match(msg.host, msg.method, msg.path);
        const reply: RouterReply = m.kind === 'matched'
          ? { k: 'm', g: this.generation, i: m.value, p: m.params, w: m.wildcard }
          : m.kind === 'not-found' ? { k: 'nf', g: this.generation } : { k: 'na', g: this.generation, allow: m.allow };
        ctx.reply(reply);
        return;
      }
    }
  }
}
