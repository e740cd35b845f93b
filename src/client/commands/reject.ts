/**
 * `vidflow reject <id> --feedback "..."`: the plan is made again from the prompt and this
 * feedback. Edits made to the rejected plan do not carry over: the CLI names them.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors';
import { editedScenes } from '../run-record';
import { findRun, refuseIfEnded, requireWorker, whereIs } from '../run-lookup';
import { discardedEditsNote, rejectArgs, rejectPlan } from '../steer';
import type { ConfigLoader } from './command';
import { err, out, workflowIdArg } from './command';

export const usage = `usage: vidflow reject <id> --feedback "..."   plan again from the prompt and this feedback`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { values, positionals } = parseArgs({
    args,
    options: { feedback: { type: 'string' } },
    allowPositionals: true,
  });
  const id = workflowIdArg(positionals, usage);
  if (values.feedback === undefined) {
    throw new UsageError(`--feedback "..." is required: say what the new plan should do differently\n\n${usage}`);
  }
  rejectArgs(values.feedback); // bad arguments are refused before the run is looked up
  const found = await findRun(cfg, id);
  await refuseIfEnded(found, 'reject');
  await requireWorker(found, 'a rejection');
  const { status } = await whereIs(found);
  const edited = status.stage === 'awaiting_approval' ? await editedScenes(found.handle, status.scenes) : [];
  const round = await rejectPlan(found.handle, values.feedback);
  out(`rejected: making plan ${round} from the prompt and your feedback`);
  if (edited.length) err(discardedEditsNote(edited));
  return 0;
}
