/** The worker's workflowsPath: every workflow vidflow runs. */
export { videoPipeline } from './video-pipeline';
