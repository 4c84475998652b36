/**
 * The route path grammar the router implements (actors/router/route-table.ts
 * and rewrite-path.ts), checked at load time so `zproxy validate` catches what
 * the router would refuse at start: "/exact", "/prefix/*" (the rest of the
 * path, captured as *), "/users/:id" (one segment, captured as :id). A
 * rewrite path uses the same segments and only captures its route path makes.
 * src/ cannot import actors/, hence the copy of the rules.
 */

import type { ConfigIssue } from './config-error.js';
import type { RouteConfig } from './types.js';

const PARAM_NAME = /^[A-Za-z0-9_]+$/;

interface PatternShape {
  params: Set<string>;
  wildcard: boolean;
  problems: string[];
}

export function checkRoutePaths(route: RouteConfig, at: string): ConfigIssue[] {
  const source = parseSegments(route.path);
  const issues = source.problems.map((problem) => ({ path: `${at}/path`, message: `${JSON.stringify(route.path)} ${problem}` }));
  const template = route.rewrite?.path;
  if (template === undefined) return issues;
  const target = parseSegments(template);
  for (const problem of target.problems) issues.push({ path: `${at}/rewrite/path`, message: `${JSON.stringify(template)} ${problem}` });
  for (const name of target.params) {
    if (!source.params.has(name)) issues.push({ path: `${at}/rewrite/path`, message: `uses :${name}, which ${JSON.stringify(route.path)} does not capture` });
  }
  if (target.wildcard && !source.wildcard) {
    issues.push({ path: `${at}/rewrite/path`, message: `uses *, which ${JSON.stringify(route.path)} does not capture (it does not end in "/*")` });
  }
  return issues;
}

function parseSegments(pattern: string): PatternShape {
  const shape: PatternShape = { params: new Set(), wildcard: false, problems: [] };
  const segments = pattern.split('/').slice(1);
  segments.forEach((segment, s) => {
    const last = s === segments.length - 1;
    if (segment === '*' && last) shape.wildcard = true;
    else if (segment.includes('*')) shape.problems.push('uses "*" inside the path: "*" may only be the whole last segment ("/prefix/*")');
    else if (segment.startsWith(':')) {
      const name = segment.slice(1);
      if (!PARAM_NAME.test(name)) shape.problems.push(`has an invalid parameter ${JSON.stringify(segment)}: expected ":name" (letters, digits, "_") as a whole segment`);
      else if (shape.params.has(name)) shape.problems.push(`repeats the parameter :${name}`);
      else shape.params.add(name);
    } else if (segment === '' && !last) shape.problems.push('has an empty segment ("//"): requests have repeated slashes merged, so it can never match');
    else if (segment === '.' || segment === '..') shape.problems.push(`has a dot segment "${segment}": requests have them resolved, so it can never match`);
  });
  return shape;
}

/**
 * Routes the router could not tell apart: a shared host (or both without
 * host), the same path shape (param names do not count) and a shared method
 * (or both without methods). The router refuses these at start
 * ('router.duplicate-route'); reporting them here lets validate catch it.
 */
export function duplicateRouteIssues(routes: readonly RouteConfig[]): ConfigIssue[] {
  const firstByKey = new Map<string, number>();
  const issues: ConfigIssue[] = [];
  routes.forEach((route, r) => {
    const shape = route.path.split('/').map((segment) => (segment.startsWith(':') ? ':' : segment)).join('/');
    let clash: number | undefined;
    for (const host of route.host.length === 0 ? [''] : route.host) {
      for (const method of route.methods.length === 0 ? [''] : route.methods) {
        const key = `${host} ${shape} ${method}`;
        const earlier = firstByKey.get(key);
        if (earlier === undefined) firstByKey.set(key, r);
        else clash ??= earlier;
      }
    }
    if (clash !== undefined) {
      issues.push({ path: `/routes/${r}/path`, message: `${JSON.stringify(route.path)} has the same host, path shape and method as /routes/${clash} (${JSON.stringify(routes[clash].path)}), so the router cannot choose between them` });
    }
  });
  return issues;
}
