#!/usr/bin/env node
// Compile and render one template per context with the real Handlebars, reporting each
// template's outcome on its own: tests/test_placeholders.py asks which expressions Handlebars
// reads as a plain path to a value, and most candidates are meant to fail.
//
// stdin:  {"cases": [{"template": string, "context": object}, ...]}
// stdout: {"results": [{"output": string} or {"error": string}, one per case]}
//
// The environment is render.js's: compat mode and the platform's `eq` helper. A problem with
// the request itself (not JSON, wrong shape) is reported on stderr with a non-zero exit code.
'use strict';

const Handlebars = require('handlebars');

// The `log` helper writes through console; keep stdout for the JSON answer alone.
for (const method of ['log', 'info', 'debug', 'warn']) {
  console[method] = (...args) => process.stderr.write(`${args.join(' ')}\n`);
}

function makeEnvironment() {
  const hb = Handlebars.create();
  hb.registerHelper('eq', (a, b) => a === b); // as render.js: strict equality
  return hb;
}

function classify(request) {
  if (request === null || typeof request !== 'object' || !Array.isArray(request.cases)) {
    throw new Error('input must be a JSON object with "cases"');
  }
  const hb = makeEnvironment();
  return request.cases.map((item, index) => {
    const { template, context } = item || {};
    if (typeof template !== 'string' || context === null || typeof context !== 'object') {
      throw new Error(`case ${index}: expected {"template": string, "context": object}`);
    }
    try {
      // compile() is lazy: parse errors surface on the first call, inside this try
      return { output: hb.compile(template, { compat: true })(context) };
    } catch (err) {
      return { error: err && err.message ? err.message : String(err) };
    }
  });
}

function main() {
  const chunks = [];
  process.stdin.on('data', (chunk) => chunks.push(chunk));
  process.stdin.on('end', () => {
    let results;
    try {
      results = classify(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch (err) {
      process.stderr.write(`classify.js: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(JSON.stringify({ results }));
  });
}

main();
