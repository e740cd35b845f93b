/**
 * Registers vidflow's custom search attributes on whatever server the worker (or the bot) reaches.
 * An unregistered attribute makes the server refuse the workflow task that upserts it (or the
 * start that sets it), so this runs before the worker polls. Idempotent: "already exists" is success.
 */
import { Connection } from '@temporalio/client';
import type { ConnectionOptions } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../shared/names';

export async function ensureSearchAttributes(connOpts: ConnectionOptions, namespace: string): Promise<void> {
  const connection = await Connection.connect(connOpts);
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = SEARCH_ATTRIBUTES.filter((key) => existing.customAttributes?.[key.name] === undefined);
    if (missing.length === 0) return;
    const keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    try {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((key) => [key.name, keyword])),
      });
    } catch (err) {
      // Another worker registered it between our list and add.
      if (!/already exists/i.test((err as Error).message)) throw err;
    }
  } finally {
    await connection.close();
  }
}
