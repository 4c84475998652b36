/**
 * Generates the key tables of docs/configuration.md from
 * conf/zproxy.schema.json, so the documentation cannot drift from what the
 * loader accepts. The hand-written parts of the page stay; only the text
 * between `<!-- generated:NAME:start -->` and `<!-- generated:NAME:end -->`
 * markers is replaced. test/config/schema-doc.test.ts fails when the page is
 * out of date; `node dist/src/config/write-configuration-doc.js` rewrites it.
 */

import { ACCESS_LOG_VARIABLES, ACCESS_LOG_VARIABLE_DESCRIPTIONS } from './access-log-variables.js';

type SchemaNode = Record<string, any>; // a JSON Schema node; shapes are checked by ajv, not by TypeScript

// Larger maxima are technical ceilings (setTimeout's limit, 1 TiB), not advice: shown as ">= min" only.
const SHOWN_MAXIMUM_LIMIT = 2147483647;

interface Section {
  /** Dotted path of the object: `upstreams.<name>.pool`, `listeners[].tls`. */
  path: string;
  /** Which variant of a discriminated object: `type "rate-limit"`. */
  variant?: string;
  node: SchemaNode;
}

const TOP = '';

/** Markdown tables, one per object in the config, in document order. */
export function renderKeyTables(schema: SchemaNode): string {
  const sections: Section[] = [];
  const documented = new Map<string, Section>(); // $ref -> the section documenting it
  collectSections(schema, { path: TOP, node: schema }, sections, documented);
  return sections.map((section) => renderSection(section, schema, documented)).join('\n');
}

function collectSections(root: SchemaNode, section: Section, sections: Section[], documented: Map<string, Section>): void {
  sections.push(section);
  for (const [key, property] of Object.entries((section.node.properties ?? {}) as Record<string, SchemaNode>)) {
    visitValue(root, property, { ...section, path: join(section.path, key) }, sections, documented);
  }
}

/** Documents the object(s) a property holds: itself, its array items, its map values, its discriminated variants. */
function visitValue(root: SchemaNode, property: SchemaNode, at: Omit<Section, 'node'>, sections: Section[], documented: Map<string, Section>): void {
  if (typeof property.$ref === 'string') {
    if (documented.has(property.$ref)) return;
    documented.set(property.$ref, { ...at, node: deref(root, property) });
  }
  const node = deref(root, property);
  if (node.type === 'array' && node.items !== undefined) return visitValue(root, node.items, { ...at, path: `${at.path}[]` }, sections, documented);
  if (node.if !== undefined && node.else?.type === 'object') return visitValue(root, node.else, at, sections, documented);
  if (node.type !== 'object') return;
  if (node.properties !== undefined) return collectSections(root, { ...at, node }, sections, documented);
  if (Array.isArray(node.oneOf) && node.discriminator !== undefined) {
    const tag = String(node.discriminator.propertyName);
    for (const branch of node.oneOf as SchemaNode[]) {
      const variant = deref(root, branch);
      const section: Section = { path: at.path, variant: `${tag} "${String(variant.properties[tag].const)}"`, node: variant };
      if (typeof branch.$ref === 'string') documented.set(branch.$ref, section);
      collectSections(root, section, sections, documented);
    }
    return;
  }
  if (typeof node.additionalProperties === 'object') visitValue(root, node.additionalProperties, { ...at, path: `${at.path}.<name>` }, sections, documented);
}

function join(path: string, key: string): string {
  return path === TOP ? key : `${path}.${key}`;
}

function headingText(section: Omit<Section, 'node'>): string {
  if (section.path === TOP) return 'Top level';
  return section.variant === undefined ? `\`${section.path}\`` : `\`${section.path}\` (${section.variant})`;
}

function renderSection(section: Section, root: SchemaNode, documented: Map<string, Section>): string {
  const { node } = section;
  const required = new Set<string>((node.required ?? []) as string[]);
  const rows = Object.entries((node.properties ?? {}) as Record<string, SchemaNode>).map(([key, property]) => {
    const type = typeText(root, property, documented, { ...section, path: join(section.path, key) });
    const fallback = required.has(key) ? 'required' : '—';
    const defaultText = property.default === undefined ? fallback : `\`${cell(JSON.stringify(property.default))}\``;
    return `| \`${key}\` | ${type} | ${defaultText} | ${cell(String(property.description ?? ''))} |`;
  });
  return [`### ${headingText(section)}`, '', cell(String(node.description ?? '')), '', '| Key | Type | Default | Description |', '| --- | --- | --- | --- |', ...rows, ''].join('\n');
}

/** The Type column; objects link to the section that documents them. */
function typeText(root: SchemaNode, property: SchemaNode, documented: Map<string, Section>, at: Omit<Section, 'node'>): string {
  const node = deref(root, property);
  const target = typeof property.$ref === 'string' ? documented.get(property.$ref) ?? at : at;
  if (node.if !== undefined && node.then !== undefined && node.else !== undefined) {
    return `${typeText(root, node.then, documented, at)} \\| ${typeText(root, node.else, documented, at)}`;
  }
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (Array.isArray(node.enum)) return node.enum.map((v: unknown) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  switch (node.type) {
    case 'integer':
    case 'number':
      return numberText(node);
    case 'string':
      return typeof node.format === 'string' && node.format !== 'file-path' ? `string (${node.format})` : 'string';
    case 'boolean':
      return 'boolean';
    case 'array':
      return `array of ${typeText(root, node.items ?? {}, documented, { ...at, path: `${at.path}[]` })}`;
    case 'object':
      if (node.discriminator !== undefined) return `object by \`${String(node.discriminator.propertyName)}\`, see below`;
      if (node.properties !== undefined) return `object, see ${link(target)}`;
      if (typeof node.additionalProperties === 'object') {
        return `map of name → ${typeText(root, node.additionalProperties, documented, { ...at, path: `${at.path}.<name>` })}`;
      }
      return 'object (free-form)';
    default:
      return Array.isArray(node.type) ? node.type.join(' \\| ') : 'any';
  }
}

function numberText(node: SchemaNode): string {
  const noun = node.type === 'integer' ? 'integer' : 'number';
  const shownMaximum = node.maximum !== undefined && node.maximum < SHOWN_MAXIMUM_LIMIT ? node.maximum : undefined;
  if (node.minimum !== undefined && shownMaximum !== undefined) return `${noun} ${node.minimum}–${shownMaximum}`;
  const low = node.minimum !== undefined ? `≥ ${node.minimum}` : node.exclusiveMinimum !== undefined ? `> ${node.exclusiveMinimum}` : '';
  const high = shownMaximum !== undefined ? `≤ ${shownMaximum}` : '';
  return [noun, low, high].filter((part) => part !== '').join(' ');
}

/** A link to a section, by GitHub's heading anchor rule (lowercase; punctuation dropped; spaces to "-"). */
function link(section: Omit<Section, 'node'>): string {
  const heading = headingText(section);
  const slug = heading.toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-');
  return `[${heading}](#${slug})`;
}

function deref(root: SchemaNode, node: SchemaNode): SchemaNode {
  if (typeof node.$ref !== 'string') return node;
  const target = node.$ref.replace(/^#\//, '').split('/').reduce((n: SchemaNode, key: string) => n[key], root);
  return deref(root, target);
}

/** Table-cell safe: pipes escaped, and "<name>" not taken for an HTML tag. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\n/g, ' ');
}

/** The access log variables as a Markdown list. */
export function renderAccessLogVariables(): string {
  const lines = ACCESS_LOG_VARIABLES.map((name) => `- \`$${name}\`: ${ACCESS_LOG_VARIABLE_DESCRIPTIONS[name]}`);
  lines.push('- `$http_<name>`: any request header, lowercase, with "-" written as "_" (`$http_x_forwarded_for`)');
  return `${lines.join('\n')}\n`;
}

/** A fenced JSON block for the complete example. */
export function renderExample(exampleJson: string, label: string): string {
  return `\`${label}\`:\n\n\`\`\`json\n${exampleJson.trimEnd()}\n\`\`\`\n`;
}

/** A generated block: its text and the file it comes from (named in the block, so readers edit the source). */
export interface GeneratedPart {
  body: string;
  source: string;
}

/**
 * The page with every generated block replaced. Throws when a marker is
 * missing, so a deleted marker is noticed instead of silently not updated.
 */
export function updateConfigurationDoc(page: string, parts: Record<string, GeneratedPart>): string {
  let updated = page;
  for (const [name, { body, source }] of Object.entries(parts)) {
    const start = `<!-- generated:${name}:start -->`;
    const end = `<!-- generated:${name}:end -->`;
    const from = updated.indexOf(start);
    const to = updated.indexOf(end);
    if (from === -1 || to < from) throw new Error(`docs/configuration.md lacks the markers ${start} ... ${end}`);
    updated = `${updated.slice(0, from + start.length)}\n<!-- Generated from ${source} by src/config/schema-doc.ts: edit that, not this block. -->\n\n${body}\n${updated.slice(to)}`;
  }
  return updated;
}
