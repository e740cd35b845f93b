/**
 * Registers vidflow's custom search attribute on whatever server the worker reaches. An
 * unregistered attribute makes the server refuse the workflow task that upserts it, so this runs
 * before the worker polls. Idempotent: "already exists" is success.
 */
import { Connection } from '@temporalio/client';
import type { ConnectionOptions } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { VIDEO_STAGE } from '../shared/names';

export async function ensureSearchAttributes(connOpts: ConnectionOptions, namespace: string): Promise<void> {
  const connection = await Connection.connect(connOpts);
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    if (existing.customAttributes?.[VIDEO_STAGE.name] !== undefined) return;
    try {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: { [VIDEO_STAGE.name]: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD },
      });
    } catch (err) {
      // Another worker registered it between our list and add.
      if (!/already exists/i.test((err as Error).message)) throw err;
    }
  } finally {
    await connection.close();
  }
}
