#!/usr/bin/env node
// Entry point of `npx vidflow`. From a checkout it runs the TypeScript sources through tsx; in the
// production image (compiled, no dev tools) it runs dist/. VIDFLOW_DIST=1 forces dist/.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const root = path.resolve(__dirname, '..');
const useDist = process.env.VIDFLOW_DIST === '1' || !fs.existsSync(path.join(root, 'src', 'client', 'cli.ts'));
if (!useDist) require('tsx/cjs');
/** A module of ours by its path under src/ (without extension), from dist/ or the sources. */
const load = (name) => require(path.join(root, useDist ? 'dist' : 'src', useDist ? `${name}.js` : `${name}.ts`));

const args = process.argv.slice(2);
if (args[0] === 'stitch') {
  // ffmpeg only: skip cli.ts, which loads the Temporal SDK and the API clients (most of the
  // start-up). The command reads no configuration; the loader is there for the command shape.
  load('client/commands/stitch')
    .run(() => load('config').loadConfig(), args.slice(1))
    .then(
      (code) => process.exit(code),
      (e) => {
        process.stderr.write(`vidflow stitch: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      },
    );
} else {
  const cli = load('client/cli');
  cli.main(args).then(
    (code) => process.exit(code),
    (e) => process.exit(cli.reportError(e)),
  );
}
