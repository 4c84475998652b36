/**
 * Rewrites the generated blocks of docs/configuration.md from the schema:
 * `npx tsc -p tsconfig.json && node dist/src/config/write-configuration-doc.js`.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { schemaDocument } from './load-config.js';
import { renderAccessLogVariables, renderExample, renderKeyTables, updateConfigurationDoc } from './schema-doc.js';

/** dist/src/config/ -> the package root. */
const ROOT = new URL('../../../', import.meta.url);
export const CONFIGURATION_DOC_PATH = fileURLToPath(new URL('docs/configuration.md', ROOT));
export const COMPLETE_EXAMPLE_PATH = fileURLToPath(new URL('conf/examples/full.json', ROOT));

/** The page as it should be now. */
export function expectedConfigurationDoc(): string {
  return updateConfigurationDoc(readFileSync(CONFIGURATION_DOC_PATH, 'utf8'), {
    keys: { body: renderKeyTables(schemaDocument()), source: 'conf/zproxy.schema.json' },
    variables: { body: renderAccessLogVariables(), source: 'src/config/access-log-variables.ts' },
    example: { body: renderExample(readFileSync(COMPLETE_EXAMPLE_PATH, 'utf8'), 'conf/examples/full.json'), source: 'conf/examples/full.json' },
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(CONFIGURATION_DOC_PATH, expectedConfigurationDoc());
  process.stdout.write(`wrote ${CONFIGURATION_DOC_PATH}\n`);
}
