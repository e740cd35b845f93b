/**
 * `npm run build` step: bundles the compiled workflows once, next to them, as
 * dist/workflow-bundle.js. A worker started from dist/ loads it instead of running webpack at
 * every start, which measured ~110 MB less RSS (190–206 MB against 317 MB idle) and a faster start.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowBundleOptions } from './bundle-options';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const BUNDLE_FILE = 'workflow-bundle.js';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode(workflowBundleOptions());
  const out = join(__dirname, '..', BUNDLE_FILE);
  await writeFile(out, code);
  process.stderr.write(`workflow bundle: ${out} (${(code.length / 1e6).toFixed(2)} MB)\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
