// Parse an AsyncAPI document with the AsyncAPI initiative's own parser (@asyncapi/parser) and
// print, as one JSON object on stdout, what tests/test_asyncapi.py judges:
//   parser, node      the versions that did the parsing
//   diagnostics       every diagnostic of every severity: {code, severity, message, path, range}
//   parsed            whether the parser produced a document
//   data              the file as YAML 1.2 reads it (js-yaml, the loader the parser uses), so the
//                     test can tell that every value reads back as the generator wrote it
// Usage: node tests/asyncapi_validate.mjs FILE   (exit 0 once it printed, 2 on bad usage)
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

import parserModule from '@asyncapi/parser';
import yaml from 'js-yaml';

const { Parser, DiagnosticSeverity } = parserModule;
const SEVERITY = Object.fromEntries(Object.entries(DiagnosticSeverity).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k]));

const file = process.argv[2];
if (!file) {
  console.error('usage: node asyncapi_validate.mjs FILE');
  process.exit(2);
}
const source = resolve(file);
const text = await readFile(source, 'utf8');
const { document, diagnostics } = await new Parser().parse(text, { source });
const require = createRequire(import.meta.url);
console.log(JSON.stringify({
  parser: require('@asyncapi/parser/package.json').version,
  node: process.version,
  parsed: document !== undefined,
  diagnostics: diagnostics.map((d) => ({
    code: d.code,
    severity: SEVERITY[d.severity] ?? String(d.severity),
    message: d.message,
    path: d.path,
    range: d.range,
  })),
  data: yaml.load(text),
}, null, 2));
