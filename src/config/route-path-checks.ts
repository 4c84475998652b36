/**
 * The route path grammar the router implements, checked at load time:
 * "/exact", "/prefix/*" (the rest of the path, captured as *), and
 * "/users/:id" (one segment, captured as :id). A rewrite path may only use
 * captures its route path makes.
 */

import type { ConfigIssue } from './config-error.js';
import type { RouteConfig } from './types.js';

const PARAM = /^:[A-Za-z_][A-Za-z0-9_]*$/;
const TEMPLATE_PARAM = /\/:([A-Za-z_][A-Za-z0-9_]*)/g;

export function checkRoutePaths(route: RouteConfig, at: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const segments = route.path.split('/').slice(1);
  const params = new Set<string>();
  segments.forEach((segment, s) => {
    const last = s === segments.length - 1;
    if (segment.includes('*') && !(segment === '*' && last)) {
      issues.push({ path: `${at}/path`, message: `${JSON.stringify(route.path)} uses "*" inside the path: "*" may only be the whole last segment ("/prefix/*")` });
    }
    if (!segment.startsWith(':')) return;
    if (!PARAM.test(segment)) {
      issues.push({ path: `${at}/path`, message: `${JSON.stringify(segment)} in ${JSON.stringify(route.path)} is not a valid parameter: expected ":name" as a whole segment` });
    } else if (params.has(segment.slice(1))) {
      issues.push({ path: `${at}/path`, message: `parameter ${segment} appears twice in ${JSON.stringify(route.path)}` });
    }
    params.add(segment.slice(1));
  });
  const template = route.rewrite?.path;
  if (template === undefined) return issues;
  for (const match of template.matchAll(TEMPLATE_PARAM)) {
    if (!params.has(match[1])) {
      issues.push({ path: `${at}/rewrite/path`, message: `uses :${match[1]}, which ${JSON.stringify(route.path)} does not capture` });
    }
  }
  if (template.includes('*') && !route.path.endsWith('/*')) {
    issues.push({ path: `${at}/rewrite/path`, message: `uses *, which ${JSON.stringify(route.path)} does not capture (it does not end in "/*")` });
  }
  return issues;
}
