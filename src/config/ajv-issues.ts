/**
 * Turns ajv's error objects into one readable issue per problem: the JSON
 * pointer of the bad value, what was expected, the value found, and a
 * did-you-mean where a near miss is obvious. Needs ajv's `verbose: true`
 * (for `data` and `parentSchema`).
 */

import type { ErrorObject } from 'ajv';
import { childPointer, pointerSegments, type ConfigIssue } from './config-error.js';
import { didYouMean } from './did-you-mean.js';
import { REDACTED, redactValueAt } from './redact-config.js';

type SchemaNode = Record<string, unknown>;

/** What each `format` annotation in the schema means, for pattern errors. */
export const FORMAT_DESCRIPTIONS: Record<string, string> = {
  name: 'a valid name (letters, digits, ".", "_" and "-", starting with a letter or digit)',
  'server-name': 'a valid server name (e.g. "example.com" or "*.example.com")',
  'http-token': 'a valid header name (an RFC 9110 token)',
  'header-value': 'a valid header value (no CR, LF or NUL)',
  'host-port': 'a valid host:port (e.g. "10.0.0.5:8080" or "[::1]:8080")',
  'listen-address': 'a valid address (e.g. "127.0.0.1", "::" or "localhost")',
  'route-path': 'a valid path (starting with "/", without spaces)',
  'http-method': 'an uppercase method name (e.g. "GET")',
  'rate-limit-key': 'one of ip, api-key, route, header:<name>',
  'redis-url': 'a redis:// or rediss:// URL',
  origin: 'an origin like "https://app.example.com", or "*"',
  'media-type': 'a media type like "text/html" or "text/*"',
  'file-path': 'a file path',
  regex: 'a JavaScript regular expression',
};

const RATE_LIMIT_KEYS = ['ip', 'api-key', 'route'];

export function issuesFromAjv(errors: readonly ErrorObject[], rootSchema: SchemaNode): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    const found = issueFor(error, rootSchema);
    if (found === undefined) continue;
    const issue = withoutSecret(found, error);
    const id = `${issue.path}\n${issue.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    issues.push(issue);
  }
  return issues;
}

/** A message that quotes a credential (an API key of the wrong type, a Redis URL with its password) quotes it redacted. */
function withoutSecret(issue: ConfigIssue, e: ErrorObject): ConfigIssue {
  const hidden = redactValueAt(e.instancePath, e.data);
  if (hidden === e.data) return issue;
  const replacement = typeof hidden === 'string' && hidden !== REDACTED ? show(hidden) : REDACTED;
  return { ...issue, message: issue.message.split(show(e.data)).join(replacement) };
}

function issueFor(e: ErrorObject, root: SchemaNode): ConfigIssue | undefined {
  // Inside propertyNames the failing value is a key: point at it, not at its object.
  const path = e.propertyName === undefined ? e.instancePath : childPointer(e.instancePath, e.propertyName);
  const parent = (e.parentSchema ?? {}) as SchemaNode;
  switch (e.keyword) {
    case 'if':
      return undefined; // the then/else branch reports the actual problem
    case 'propertyNames':
      return undefined; // the failing keyword inside propertyNames reports it, with the name
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const allowed = Object.keys((parent.properties ?? {}) as SchemaNode);
      return { path: childPointer(path, key), message: `unknown key ${JSON.stringify(key)}`, hint: didYouMean(key, allowed) ?? `allowed keys: ${allowed.join(', ')}` };
    }
    case 'required':
      return { path: childPointer(path, String(e.params.missingProperty)), message: 'is required' };
    case 'discriminator': {
      const tags = discriminatorTags(parent, root);
      const tagPath = childPointer(path, String(e.params.tag));
      if (e.params.error === 'tag' && (e.data as SchemaNode | null)?.[String(e.params.tag)] === undefined) {
        return { path: tagPath, message: `is required: one of ${tags.join(', ')}` };
      }
      const value = e.params.tagValue;
      return withHint({ path: tagPath, message: `${show(value)} is not one of ${tags.join(', ')}` }, value, tags);
    }
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      return withHint({ path, message: `${show(e.data)} is not one of ${allowed.join(', ')}` }, e.data, allowed);
    }
    case 'pattern': {
      const format = typeof parent.format === 'string' ? parent.format : undefined;
      const expected = format !== undefined && FORMAT_DESCRIPTIONS[format] !== undefined ? FORMAT_DESCRIPTIONS[format] : `a string matching ${String(e.params.pattern)}`;
      const issue: ConfigIssue = { path, message: `${show(e.data)} is not ${expected}` };
      return format === 'rate-limit-key' ? withHint(issue, e.data, RATE_LIMIT_KEYS) : issue;
    }
    case 'minItems':
      return { path, message: e.params.limit === 1 ? 'must not be empty' : `must have at least ${e.params.limit} items, got ${(e.data as unknown[]).length}` };
    case 'minLength':
      return { path, message: e.params.limit === 1 ? 'must not be empty' : `must be at least ${e.params.limit} characters long` };
    case 'maxLength':
      return { path, message: `must be at most ${e.params.limit} characters long, got ${(e.data as string).length}` };
    case 'uniqueItems': {
      const items = e.data as unknown[];
      const [first, second] = [e.params.j as number, e.params.i as number].sort((a, b) => a - b);
      return { path, message: `repeats ${show(items[first])} (items ${first} and ${second})` };
    }
    case 'false schema':
    case 'not':
      return { path, message: 'is not allowed here' };
    case 'type':
    case 'const':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path, message: `must be ${describeExpected(unionOrSelf(e.schemaPath, parent, root), root)}, got ${show(e.data)}` };
    default:
      return { path, message: e.message ?? `fails ${e.keyword}` };
  }
}

function withHint(issue: ConfigIssue, value: unknown, candidates: string[]): ConfigIssue {
  const hint = typeof value === 'string' ? didYouMean(value, candidates) : undefined;
  return hint === undefined ? issue : { ...issue, hint };
}

/**
 * For a keyword directly inside the then/else of a type-dispatching if
 * (`"auto" | integer`), the whole union is what was expected.
 */
function unionOrSelf(schemaPath: string, parent: SchemaNode, root: SchemaNode): SchemaNode {
  if (parent.if !== undefined) return parent;
  const segments = pointerSegments(schemaPath.replace(/^#/, ''));
  const branch = segments[segments.length - 2];
  if (branch === 'then' || branch === 'else') {
    const union = resolvePointer(root, segments.slice(0, -2));
    if (union?.if !== undefined) return union;
  }
  return parent;
}

/** A phrase for what a schema accepts: `an integer from 0 to 65535`, `"auto" or an integer from 1 to 1024`. */
export function describeExpected(schema: SchemaNode, root: SchemaNode, inUnion = false): string {
  const node = deref(schema, root);
  if (node.if !== undefined && node.then !== undefined && node.else !== undefined) {
    return `${describeExpected(node.then as SchemaNode, root, true)} or ${describeExpected(node.else as SchemaNode, root, true)}`;
  }
  // Inside "host:port | object" the string's form is the useful part; alone, "a string" is clearer.
  if (inUnion && node.type === 'string' && typeof node.format === 'string' && FORMAT_DESCRIPTIONS[node.format] !== undefined) {
    return FORMAT_DESCRIPTIONS[node.format];
  }
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (Array.isArray(node.enum)) return `one of ${node.enum.join(', ')}`;
  const type = Array.isArray(node.type) ? node.type.join(' or ') : node.type;
  switch (type) {
    case 'integer':
    case 'number':
      return describeNumber(type, node);
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'an array';
    case 'object':
      return 'an object';
    default:
      return String(type ?? 'valid');
  }
}

function describeNumber(type: string, node: SchemaNode): string {
  const noun = type === 'integer' ? 'an integer' : 'a number';
  const { minimum, maximum, exclusiveMinimum } = node as { minimum?: number; maximum?: number; exclusiveMinimum?: number };
  if (minimum !== undefined && maximum !== undefined) return `${noun} from ${minimum} to ${maximum}`;
  if (exclusiveMinimum !== undefined && maximum !== undefined) return `${noun} > ${exclusiveMinimum} and <= ${maximum}`;
  if (minimum !== undefined) return `${noun} >= ${minimum}`;
  if (exclusiveMinimum !== undefined) return `${noun} > ${exclusiveMinimum}`;
  if (maximum !== undefined) return `${noun} <= ${maximum}`;
  return noun;
}

function discriminatorTags(schema: SchemaNode, root: SchemaNode): string[] {
  const tagName = String((schema.discriminator as SchemaNode).propertyName);
  return ((schema.oneOf ?? []) as SchemaNode[]).map((branch) => {
    const properties = deref(branch, root).properties as Record<string, SchemaNode>;
    return String(properties[tagName].const);
  });
}

/** Follows a local `$ref` ("#/definitions/x"). */
export function deref(schema: SchemaNode, root: SchemaNode): SchemaNode {
  let node = schema;
  for (let hops = 0; typeof node.$ref === 'string' && hops < 16; hops++) {
    node = resolvePointer(root, pointerSegments(node.$ref.replace(/^#/, ''))) ?? {};
  }
  return node;
}

function resolvePointer(root: SchemaNode, segments: string[]): SchemaNode | undefined {
  let node: unknown = root;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as SchemaNode)[segment];
  }
  return node !== null && typeof node === 'object' ? (node as SchemaNode) : undefined;
}

/** A bad value as it appears in a message: strings quoted and cut short, containers by kind. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}
