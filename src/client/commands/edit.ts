/**
 * `vidflow edit <id> --scene N --prompt "..."`: changes a scene's prompt while the plan (or the
 * result) is reviewed. An update: the workflow's refusal comes back at once (src/client/steer.ts).
 */
import { parseArgs } from 'node:util';
import { runHandle } from '../connection';
import { editScene } from '../steer';
import type { ConfigLoader } from './command';
import { out, workflowIdArg } from './command';

export const usage = `usage: vidflow edit <id> --scene N --prompt "..."   change a scene while the plan or result is reviewed`;

export async function run(config: ConfigLoader, args: string[]): Promise<number> {
  const cfg = config();
  const { values, positionals } = parseArgs({
    args,
    options: { scene: { type: 'string' }, prompt: { type: 'string' } },
    allowPositionals: true,
  });
  const handle = await runHandle(cfg, workflowIdArg(positionals, usage));
  const scene = await editScene(handle, values.scene, values.prompt);
  out(`scene ${scene.index}: ${scene.prompt}`);
  return 0;
}
