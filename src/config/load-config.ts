/**
 * Reads a zproxy config: JSON text -> ${ENV} substitution -> JSON Schema
 * validation with defaults (ajv) -> normalization -> cross-reference checks.
 * Every failure is a ConfigError listing all problems found at that stage,
 * each with the JSON pointer of the bad value.
 */

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { issuesFromAjv, FORMAT_DESCRIPTIONS } from './ajv-issues.js';
import { checkConfig } from './config-checks.js';
import { ConfigError, pointerSegments, type ConfigIssue } from './config-error.js';
import { substituteEnv } from './env-substitution.js';
import { findJsonSyntaxError } from './json-syntax-error.js';
import { normalizeConfig } from './normalize-config.js';
import type { ZproxyConfig } from './types.js';

export { redactConfig, REDACTED } from './redact-config.js';

/** dist/src/config/ -> the package root's conf/. */
export const SCHEMA_PATH = fileURLToPath(new URL('../../../conf/zproxy.schema.json', import.meta.url));

export interface ParseOptions {
  /** Folder relative file paths in the config are resolved against. Default: the working directory. */
  baseDir?: string;
}

/** Reads, validates and normalizes the config file at path. Throws ConfigError. */
export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): ZproxyConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(code ?? error);
    throw new ConfigError('config.unreadable', path, [{ path: '', message: `cannot read the config file: ${reason}` }]);
  }
  return parseConfig(parseJsonText(text, path), path, env, { baseDir: dirname(resolve(path)) });
}

/** JSON.parse with the line and column of a syntax error. Throws ConfigError 'config.parse'. */
export function parseJsonText(text: string, source: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // editors on Windows may write a BOM
  try {
    return JSON.parse(body);
  } catch (error) {
    const problem = findJsonSyntaxError(body);
    const issue: ConfigIssue =
      problem === undefined
        ? { path: '', message: `invalid JSON: ${(error as Error).message}` }
        : { path: '', message: `invalid JSON at line ${problem.line}, column ${problem.column}: ${problem.message}`, ...(problem.hint === undefined ? {} : { hint: problem.hint }) };
    throw new ConfigError('config.parse', source, [issue]);
  }
}

/**
 * Validates and normalizes an in-memory config (the embedded default, tests).
 * `json` is not modified. Throws ConfigError.
 */
export function parseConfig(json: unknown, source: string, env: NodeJS.ProcessEnv = process.env, options: ParseOptions = {}): ZproxyConfig {
  const substituted = substituteEnv(json, env);
  if (substituted.missing.length > 0) throw new ConfigError('config.env-missing', source, [...substituted.missing, ...substituted.malformed]);
  if (substituted.malformed.length > 0) throw new ConfigError('config.invalid', source, substituted.malformed);

  const tree = substituted.value;
  const raw = structuredClone(tree); // before defaults: checks ask "was this key written?"
  const validate = compiledValidator();
  if (!validate(tree) && !(coerceWholeReferences(tree, validate.errors ?? [], substituted.wholeReferences) && validate(tree))) {
    throw new ConfigError('config.invalid', source, issuesFromAjv(validate.errors ?? [], schemaDocument()));
  }

  const config = normalizeConfig(tree as Record<string, unknown>, options.baseDir ?? process.cwd());
  const { invalid, references } = checkConfig(config, raw);
  if (invalid.length > 0) throw new ConfigError('config.invalid', source, [...invalid, ...references]);
  if (references.length > 0) throw new ConfigError('config.reference', source, references);
  return config;
}

/**
 * A string that was exactly one ${VAR} may stand for a number or boolean
 * ("port": "${PORT:-8080}"): where such a value failed validation and reads
 * as one, it is converted. Returns whether anything changed (then validate again).
 */
function coerceWholeReferences(tree: unknown, errors: readonly ErrorObject[], wholeReferences: ReadonlySet<string>): boolean {
  let changed = false;
  for (const error of errors) {
    if (!wholeReferences.has(error.instancePath)) continue;
    const segments = pointerSegments(error.instancePath);
    const parent = segments.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], tree) as Record<string, unknown>;
    const key = segments[segments.length - 1];
    const value = parent[key];
    if (typeof value !== 'string') continue;
    if (/^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(value)) parent[key] = Number(value);
    else if (value === 'true' || value === 'false') parent[key] = value === 'true';
    else continue;
    changed = true;
  }
  return changed;
}

let schema: Record<string, unknown> | undefined;
let validator: ValidateFunction | undefined;

/** The parsed conf/zproxy.schema.json (read once). */
export function schemaDocument(): Record<string, unknown> {
  schema ??= JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
  return schema;
}

/** Compiled once, on first use: compiling the schema takes a few milliseconds. */
function compiledValidator(): ValidateFunction {
  if (validator !== undefined) return validator;
  const Ajv = AjvModule.default;
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    verbose: true, // errors carry data and parentSchema, for messages naming the bad value
    discriminator: true,
    allowUnionTypes: true,
    strict: true,
  });
  // Formats only name a pattern for error messages; the pattern does the checking.
  for (const format of Object.keys(FORMAT_DESCRIPTIONS)) ajv.addFormat(format, true);
  validator = ajv.compile(schemaDocument());
  return validator;
}
