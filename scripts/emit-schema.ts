/** Writes schema.graphql from the code (`npm run schema:emit`); a test fails when they drift apart. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { printSchemaFile } from '../src/graphql/print-schema';

printSchemaFile().then((sdl) => {
  writeFileSync(resolve(__dirname, '..', 'schema.graphql'), sdl);
  console.log('wrote schema.graphql');
});
