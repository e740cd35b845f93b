/**
 * `status` with a worker that just stopped: the server saw its poller a moment ago, hands it the
 * query, and resets the stream when the poller is gone (gRPC CANCELLED, "Call cancelled"). The CLI
 * must answer from the server's records with its notice, not die with the gRPC text (CI saw
 * `vidflow: 1 CANCELLED: Call cancelled` after Ctrl-C in `vidflow run`).
 *
 * The Temporal client is stubbed at its edges (describeTaskQueue, withDeadline, query) because the
 * server's reset depends on a race no test can time; the real path runs in run-interactive.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { queryStatus } from '../src/client/worker-presence';
import type { videoPipeline } from '../src/workflows';

/** A grpc-js ServiceError as the client receives it (codes: 1 CANCELLED, 4 DEADLINE_EXCEEDED, 7 PERMISSION_DENIED). */
function grpcError(code: number, name: string, details: string): Error {
  return Object.assign(new Error(`${code} ${name}: ${details}`), { code, details, metadata: {} });
}

function stubs(queryError: Error): { client: Client; handle: WorkflowHandle<typeof videoPipeline> } {
  const client = {
    options: { namespace: 'default' },
    workflowService: {
      describeTaskQueue: () =>
        Promise.resolve({ pollers: [{ lastAccessTime: { seconds: Math.floor(Date.now() / 1000) } }] }),
    },
    connection: { withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn() },
  } as unknown as Client;
  const handle = { query: () => Promise.reject(queryError) } as unknown as WorkflowHandle<typeof videoPipeline>;
  return { client, handle };
}

test('a query the server resets (CANCELLED) after a worker stopped reads as a silent worker', async () => {
  const { client, handle } = stubs(grpcError(1, 'CANCELLED', 'Call cancelled'));
  assert.deepEqual(await queryStatus(client, handle, 'vidflow'), { noWorker: 'silent' });
});

test('a deadline reads as a silent worker too; any other gRPC error still surfaces', async () => {
  const deadline = stubs(grpcError(4, 'DEADLINE_EXCEEDED', 'Deadline exceeded'));
  assert.deepEqual(await queryStatus(deadline.client, deadline.handle, 'vidflow'), { noWorker: 'silent' });
  const denied = stubs(grpcError(7, 'PERMISSION_DENIED', 'not allowed'));
  await assert.rejects(queryStatus(denied.client, denied.handle, 'vidflow'), /PERMISSION_DENIED: not allowed/);
});
