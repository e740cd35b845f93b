/**
 * The bot's side of Temporal: start a run for a prompt message (once, however often Telegram
 * delivers it), find a chat's runs and the bot's open ones through the VidflowChat search
 * attribute, read a run's status and outcome, and steer it. Calls that need a worker to answer
 * (queries, updates) are bounded, so a worker being restarted makes the bot say "busy", not hang.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
} from '@temporalio/client';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure } from '@temporalio/common';
import { summaryOf } from '../client/start';
import { approveSignal, editSceneUpdate, redoSceneUpdate, rejectPlanUpdate, statusQuery } from '../shared/messages';
import { estimateCostUsd } from '../shared/models';
import { VIDEO_STAGE, VIDFLOW_CHAT, WORKFLOW_TYPE } from '../shared/names';
import { FINAL_STAGES } from '../shared/schemas';
import type { EditSceneArgs, PipelineInput, PipelineResult, PipelineStatus, RedoSceneArgs } from '../shared/schemas';
import type { videoPipeline } from '../workflows';

type Handle = WorkflowHandle<typeof videoPipeline>;

export type Outcome =
  | { kind: 'completed'; result: PipelineResult }
  | { kind: 'failed'; type: string; message: string }
  | { kind: 'cancelled' }
  | { kind: 'terminated' }
  | { kind: 'timed_out' };

export interface RunRow {
  workflowId: string;
  stage: string;
  running: boolean;
  startTime: Date;
}

const QUERY_MS = 5000;
const UPDATE_MS = 15_000;

export class Runs {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  handle(workflowId: string): Handle {
    return this.client.workflow.getHandle<typeof videoPipeline>(workflowId);
  }

  /**
   * Starts the run, or finds it: conflict policy FAIL and reuse policy REJECT_DUPLICATE mean a
   * re-delivered prompt (same message, same id) never starts a second, paid run.
   */
  async start(workflowId: string, chatId: number, input: PipelineInput): Promise<{ existed: boolean }> {
    try {
      await this.client.workflow.start<typeof videoPipeline>(WORKFLOW_TYPE, {
        workflowId,
        taskQueue: this.taskQueue,
        args: [input],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: summaryOf(input.prompt),
        staticDetails: [
          `**From Telegram chat** ${chatId}`,
          `**Prompt:** ${input.prompt}`,
          `**Scenes:** ${input.scenes} × ${input.sceneSeconds} s, ${input.aspectRatio}, model ${input.model}`,
          `**Estimated cost:** $${estimateCostUsd(input.model, input.scenes, input.sceneSeconds, { audio: input.audio }).toFixed(2)}`,
        ].join('\n'),
        typedSearchAttributes: [
          { key: VIDEO_STAGE, value: 'planning' },
          { key: VIDFLOW_CHAT, value: String(chatId) },
        ],
      });
      return { existed: false };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { existed: true };
      throw err;
    }
  }

  /** The chat a run belongs to, from the run itself; undefined when there is no such run of ours. */
  async chatOf(workflowId: string): Promise<number | undefined> {
    try {
      const d = await this.handle(workflowId).describe();
      if (d.type !== WORKFLOW_TYPE) return undefined;
      const chat = d.typedSearchAttributes.get(VIDFLOW_CHAT);
      return chat !== undefined && /^-?\d+$/.test(chat) ? Number(chat) : undefined;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * Whether the run still goes on: open, and not already ending (its VideoStage is final as soon as
   * a cancellation is handled, while its cleanup still keeps it open a moment).
   */
  async isGoing(workflowId: string): Promise<boolean> {
    try {
      const d = await this.handle(workflowId).describe();
      const stage = d.typedSearchAttributes.get(VIDEO_STAGE);
      return d.status.name === 'RUNNING' && !(FINAL_STAGES as readonly string[]).includes(stage ?? '');
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  async isClosed(workflowId: string): Promise<boolean | 'missing'> {
    try {
      return (await this.handle(workflowId).describe()).status.name !== 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'missing';
      throw err;
    }
  }

  status(workflowId: string, ms = QUERY_MS): Promise<PipelineStatus> {
    return this.client.withDeadline(Date.now() + ms, () => this.handle(workflowId).query(statusQuery));
  }

  /** How the run ended (call once it is closed). */
  async outcome(workflowId: string): Promise<Outcome> {
    try {
      return { kind: 'completed', result: await this.handle(workflowId).result() };
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      const cause = err.cause;
      if (cause instanceof CancelledFailure) return { kind: 'cancelled' };
      if (cause instanceof TerminatedFailure) return { kind: 'terminated' };
      if (cause instanceof ApplicationFailure) {
        if (cause.type === 'ApprovalTimedOut') return { kind: 'timed_out' };
        return { kind: 'failed', type: cause.type ?? 'Error', message: cause.message };
      }
      return { kind: 'failed', type: cause?.name ?? 'Error', message: cause?.message ?? err.message };
    }
  }

  /**
   * This bot's runs: of its workflow type, on its task queue (two bots on one namespace, on two
   * queues, never follow each other's runs). Queue names outside the safe set are left out of the
   * query rather than quoted into it.
   */
  private mine(): string {
    const queue = /^[\w.@:/-]+$/.test(this.taskQueue) ? ` AND TaskQueue = '${this.taskQueue}'` : '';
    return `WorkflowType = '${WORKFLOW_TYPE}'${queue}`;
  }

  /** A chat's runs, newest first. */
  async ofChat(chatId: number, limit = 10): Promise<RunRow[]> {
    return this.list(`${this.mine()} AND ${VIDFLOW_CHAT.name} = '${chatId}'`, limit);
  }

  /** Every open run started from Telegram: a restarted bot follows these again. */
  async open(limit = 1000): Promise<(RunRow & { chatId: number })[]> {
    const rows = await this.list(
      `${this.mine()} AND ExecutionStatus = 'Running' AND ${VIDFLOW_CHAT.name} IS NOT NULL`,
      limit,
      true,
    );
    return rows.filter((r): r is RunRow & { chatId: number } => r.chatId !== undefined);
  }

  private async list(query: string, limit: number, withChat = false): Promise<(RunRow & { chatId?: number })[]> {
    const out: (RunRow & { chatId?: number })[] = [];
    for await (const wf of this.client.workflow.list({ query })) {
      const chat = wf.typedSearchAttributes.get(VIDFLOW_CHAT);
      out.push({
        workflowId: wf.workflowId,
        stage: String(wf.typedSearchAttributes.get(VIDEO_STAGE) ?? '?'),
        running: wf.status.name === 'RUNNING',
        startTime: wf.startTime,
        ...(withChat && chat !== undefined && /^-?\d+$/.test(chat) ? { chatId: Number(chat) } : {}),
      });
      if (out.length >= limit) break;
    }
    return out.sort((a, b) => b.startTime.getTime() - a.startTime.getTime());
  }

  approve(workflowId: string): Promise<void> {
    return this.handle(workflowId).signal(approveSignal);
  }

  cancel(workflowId: string): Promise<void> {
    return this.handle(workflowId)
      .cancel()
      .then(() => undefined);
  }

  // Updates carry an id made from the Telegram message or button that asked for them: Temporal
  // runs an update id once per run, so a re-delivered message or a second tap changes nothing.

  editScene(workflowId: string, args: EditSceneArgs, updateId: string) {
    return this.client.withDeadline(Date.now() + UPDATE_MS, () =>
      this.handle(workflowId).executeUpdate(editSceneUpdate, { args: [args], updateId }),
    );
  }

  rejectPlan(workflowId: string, feedback: string, updateId: string) {
    return this.client.withDeadline(Date.now() + UPDATE_MS, () =>
      this.handle(workflowId).executeUpdate(rejectPlanUpdate, { args: [{ feedback }], updateId }),
    );
  }

  redoScene(workflowId: string, args: RedoSceneArgs, updateId: string) {
    return this.client.withDeadline(Date.now() + UPDATE_MS, () =>
      this.handle(workflowId).executeUpdate(redoSceneUpdate, { args: [args], updateId }),
    );
  }
}
