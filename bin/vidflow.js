#!/usr/bin/env node
// Entry point of `npx vidflow`. From a checkout it runs the TypeScript sources through tsx; in the
// production image (compiled, no dev tools) it runs dist/. VIDFLOW_DIST=1 forces dist/.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist', 'client', 'cli.js');
const useDist = process.env.VIDFLOW_DIST === '1' || !fs.existsSync(path.join(root, 'src', 'client', 'cli.ts'));
let cli;
if (useDist) {
  cli = require(dist);
} else {
  require('tsx/cjs');
  cli = require(path.join(root, 'src', 'client', 'cli.ts'));
}
cli.main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => process.exit(cli.reportError(e)),
);
