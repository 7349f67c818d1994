#!/usr/bin/env node
// Render email templates with the real Handlebars, as a stand-in for Dynamics 365 Marketing.
//
// stdin:  {"templates": [string, ...], "contexts": [object, ...], "each": false}
// stdout: {"rendered": [[string per context] per template]}
//
// One process renders a whole batch, so the Python tests start node once per module.
// Any problem (bad input, parse error, render error) is reported on stderr with the
// template index and ends the process with a non-zero exit code: never swallowed.
//
// With "each": true (the differential tests, which expect some templates to fail), each
// template's outcome for each context is reported on its own instead:
// stdout: {"results": [[string or {"error": message} per context] per template]}
//
// With the argument --lines, one request per line of stdin is answered by one line of stdout
// (as "each": true), so that a test can keep one process for thousands of templates.
'use strict';

const Handlebars = require('handlebars');

// Handlebars' logger ({{log}}, denied property access) writes to the console: keep stdout
// for the answer alone.
for (const level of ['log', 'info', 'debug', 'warn', 'error']) {
  console[level] = (...args) => process.stderr.write(`${args.join(' ')}\n`);
}

function fail(message) {
  process.stderr.write(`render.js: ${message}\n`);
  process.exitCode = 1;
}

function makeEnvironment() {
  // An isolated environment, so helpers registered here cannot leak or be shadowed.
  const hb = Handlebars.create();
  // Dynamics provides `eq`; the QR loop uses it as (eq this.msevtmgt_eventid 'GUID').
  // Strict equality, like the platform's helper: no case folding, no type coercion.
  hb.registerHelper('eq', (a, b) => a === b);
  return hb;
}

function renderBatch(request) {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new Error('input must be a JSON object with "templates" and "contexts"');
  }
  const { templates, contexts } = request;
  if (!Array.isArray(templates) || !templates.every((t) => typeof t === 'string')) {
    throw new Error('"templates" must be an array of strings');
  }
  if (!Array.isArray(contexts) || !contexts.every((c) => c !== null && typeof c === 'object')) {
    throw new Error('"contexts" must be an array of objects');
  }
  const hb = makeEnvironment();
  if (request.each === true) {
    // each template for each context on its own: a string, or {"error": message}
    const results = templates.map((source) => {
      const template = hb.compile(source, { compat: true });
      return contexts.map((context) => {
        try {
          return template(context);
        } catch (err) {
          return { error: err && err.message ? err.message : String(err) };
        }
      });
    });
    return { results };
  }
  return templates.map((source, index) => {
    try {
      // compat: Mustache-style recursive lookup, so `contact.firstname` resolves from the
      // root context inside `#each`, as the platform resolves contact.* globally.
      // strict stays off: an unknown placeholder renders empty, as on the platform.
      const template = hb.compile(source, { compat: true });
      // compile() is lazy; the first call parses, so parse errors surface here too.
      return contexts.map((context) => template(context));
    } catch (err) {
      const detail = err && err.message ? err.message : String(err);
      throw new Error(`template ${index}: ${detail}`);
    }
  });
}

function serveLines() {
  const readline = require('readline');
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    let answer;
    try {
      answer = renderBatch({ ...JSON.parse(line), each: true });
    } catch (err) {
      answer = { failure: err && err.message ? err.message : String(err) };
    }
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  });
}

function main() {
  if (process.argv.includes('--lines')) {
    serveLines();
    return;
  }
  const chunks = [];
  process.stdin.on('data', (chunk) => chunks.push(chunk));
  process.stdin.on('error', (err) => fail(`cannot read stdin: ${err.message}`));
  process.stdin.on('end', () => {
    let request;
    try {
      request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      fail(`stdin is not JSON: ${err.message}`);
      return;
    }
    let rendered;
    try {
      rendered = renderBatch(request);
    } catch (err) {
      fail(err.message);
      return;
    }
    process.stdout.write(JSON.stringify(Array.isArray(rendered) ? { rendered } : rendered));
  });
}

main();
