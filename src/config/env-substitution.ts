/**
 * `${VAR}` and `${VAR:-default}` in config string values, replaced after
 * JSON.parse by walking the tree, so a value can never break the JSON syntax
 * or inject keys. Object keys are left alone. `$${` writes a literal `${`.
 */

import { childPointer, type ConfigIssue } from './config-error.js';

export interface SubstitutionResult {
  /** The tree with references replaced (a new tree; the input is not changed). */
  value: unknown;
  /** References to unset variables without a default. */
  missing: ConfigIssue[];
  /** `${` that is not a well-formed reference. */
  malformed: ConfigIssue[];
  /** Pointers of strings that were exactly one reference: they may stand for a number or boolean. */
  wholeReferences: Set<string>;
}

// ${NAME} or ${NAME:-default}; NAME as in POSIX shells. `$${` escapes.
const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const WHOLE_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$/;

export function substituteEnv(tree: unknown, env: NodeJS.ProcessEnv): SubstitutionResult {
  const result: SubstitutionResult = { value: undefined, missing: [], malformed: [], wholeReferences: new Set() };
  result.value = walk(tree, '', env, result);
  return result;
}

function walk(node: unknown, pointer: string, env: NodeJS.ProcessEnv, result: SubstitutionResult): unknown {
  if (typeof node === 'string') return node.includes('${') ? substituteString(node, pointer, env, result) : node;
  if (Array.isArray(node)) return node.map((item, i) => walk(item, childPointer(pointer, i), env, result));
  if (node !== null && typeof node === 'object') {
    // fromEntries defines own properties, so a "__proto__" key stays a key (and is then rejected as unknown).
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, walk(value, childPointer(pointer, key), env, result)]));
  }
  return node;
}

function substituteString(text: string, pointer: string, env: NodeJS.ProcessEnv, result: SubstitutionResult): string {
  if (WHOLE_REFERENCE.test(text)) result.wholeReferences.add(pointer);
  return text.replace(REFERENCE, (match: string, body: string | undefined) => {
    if (match === '$${') return '${';
    if (body === undefined) {
      result.malformed.push({ path: pointer, message: `unterminated \${ in ${JSON.stringify(text)}`, hint: 'write $${ for a literal ${' });
      return match;
    }
    const separator = body.indexOf(':-');
    const name = separator === -1 ? body : body.slice(0, separator);
    if (!NAME.test(name)) {
      result.malformed.push({ path: pointer, message: `${JSON.stringify(match)} is not a valid reference: expected \${NAME} or \${NAME:-default}`, hint: 'write $${ for a literal ${' });
      return match;
    }
    const value = env[name];
    if (separator !== -1) return value === undefined || value === '' ? body.slice(separator + 2) : value;
    if (value === undefined) {
      result.missing.push({ path: pointer, message: `environment variable ${name} is not set`, hint: `set it, or write \${${name}:-default}` });
      return match;
    }
    return value;
  });
}
