/** The worker's workflowsPath: every workflow vidflow runs. */
import type { WORKFLOW_TYPE } from '../shared/names';
import type * as workflows from './index';

export { videoPipeline } from './video-pipeline';

/**
 * The worker registers each function exported here under its export name; clients start runs
 * by WORKFLOW_TYPE (src/shared/names). This type stops the build when the two part ways.
 */
export type WorkflowType = Exported<typeof WORKFLOW_TYPE>;
type Exported<Name extends keyof typeof workflows> = Name;
