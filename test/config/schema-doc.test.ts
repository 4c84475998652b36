import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { schemaDocument } from '../../src/config/load-config.js';
import { renderKeyTables, updateConfigurationDoc } from '../../src/config/schema-doc.js';
import { CONFIGURATION_DOC_PATH, expectedConfigurationDoc } from '../../src/config/write-configuration-doc.js';

type SchemaNode = Record<string, any>;

/** Every subschema with its JSON pointer. */
function* subschemas(node: unknown, pointer = ''): Generator<[string, SchemaNode]> {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
  const schema = node as SchemaNode;
  yield [pointer, schema];
  for (const key of ['properties', 'definitions']) {
    for (const [name, child] of Object.entries((schema[key] ?? {}) as SchemaNode)) yield* subschemas(child, `${pointer}/${key}/${name}`);
  }
  for (const key of ['items', 'additionalProperties', 'propertyNames', 'if', 'then', 'else']) yield* subschemas(schema[key], `${pointer}/${key}`);
  for (const [i, branch] of ((schema.oneOf ?? []) as unknown[]).entries()) yield* subschemas(branch, `${pointer}/oneOf/${i}`);
}

test('docs/configuration.md is up to date with the schema', () => {
  const current = readFileSync(CONFIGURATION_DOC_PATH, 'utf8');
  assert.ok(current === expectedConfigurationDoc(), 'docs/configuration.md is stale: run `npx tsc -p tsconfig.json && node dist/src/config/write-configuration-doc.js`');
});

test('every property in the schema has a description', () => {
  const missing: string[] = [];
  for (const [pointer, schema] of subschemas(schemaDocument())) {
    for (const [name, property] of Object.entries((schema.properties ?? {}) as SchemaNode)) {
      if (typeof property.description !== 'string' || property.description.length < 10) missing.push(`${pointer}/properties/${name}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('every object with named keys rejects unknown keys', () => {
  const open: string[] = [];
  for (const [pointer, schema] of subschemas(schemaDocument())) {
    const isIfOrBranch = /\/(if|then)$/.test(pointer);
    if (schema.properties !== undefined && !isIfOrBranch && schema.additionalProperties !== false) open.push(pointer);
  }
  assert.deepEqual(open, []);
});

test('renders a row with type, default and description for each key', () => {
  const tables = renderKeyTables(schemaDocument());
  assert.ok(tables.includes('| `workers` | `"auto"` \\| integer 1–1024 | `"auto"` | Number of worker threads, or "auto" for one per available CPU. |'));
  assert.ok(tables.includes('| `port` | integer 0–65535 | required | TCP port to bind. 0 picks a free ephemeral port (for tests). |'));
  assert.ok(tables.includes('### `middleware.<name>` (type "rate-limit")'));
  assert.ok(tables.includes('| `upstreams` | map of name → object, see [`upstreams.<name>`](#upstreamsname) | required | Upstream groups by name. |'));
});

test('a changed schema changes the generated tables', () => {
  const schema = structuredClone(schemaDocument()) as SchemaNode;
  schema.properties.admin.properties.port.default = 9902;
  const tables = renderKeyTables(schema);
  assert.ok(tables.includes('| `port` | integer 0–65535 | `9902` | Port the admin API binds. 0 picks a free port (for tests). |'));
  assert.notEqual(tables, renderKeyTables(schemaDocument()));
});

test('replaces only the text between generated markers', () => {
  const page = 'intro\n<!-- generated:keys:start -->\nold\n<!-- generated:keys:end -->\noutro\n';
  assert.equal(
    updateConfigurationDoc(page, { keys: { body: 'new\n', source: 'x.json' } }),
    'intro\n<!-- generated:keys:start -->\n<!-- Generated from x.json by src/config/schema-doc.ts: edit that, not this block. -->\n\nnew\n\n<!-- generated:keys:end -->\noutro\n',
  );
  assert.throws(() => updateConfigurationDoc('no markers', { keys: { body: '', source: 'x' } }), /lacks the markers <!-- generated:keys:start -->/);
});
