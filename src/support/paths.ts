/**
 * File names derived from workflow ids. Ids come from users (`--id`), so they are reduced to a
 * safe stem that cannot leave its folder: no separators, no `..`, no NUL, bounded length, and a
 * short hash keeps two different ids that sanitise alike from sharing a file.
 */
import { createHash } from 'node:crypto';
import { join, resolve, sep } from 'node:path';

export function safeStem(id: string, max = 80): string {
  const cleaned = id
    .normalize('NFKC')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[.-]+/, '')
    .replace(/\.{2,}/g, '_')
    .slice(0, max);
  if (cleaned === id && cleaned.length > 0) return cleaned;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 8);
  return `${cleaned || 'run'}-${hash}`;
}

/** Joins and checks the result is inside `dir`: the last line of defence against a bad stem. */
export function inside(dir: string, ...parts: string[]): string {
  // Node refuses NUL in a path only when the file system is touched; refuse it here, with the reason.
  if (parts.some((p) => p.includes('\0'))) throw new Error('refusing a path with a NUL byte');
  const base = resolve(dir);
  const full = resolve(join(base, ...parts));
  if (full !== base && !full.startsWith(base + sep)) {
    throw new Error(`refusing a path outside ${base}: ${full}`);
  }
  return full;
}

export function runWorkDir(workDir: string, workflowId: string): string {
  return inside(workDir, safeStem(workflowId));
}

/**
 * A scene's clip, named by what makes it unique (`clipKey`: the prediction that made it, or a
 * hash of its output URL), not by the scene alone: a redo, a regeneration, a move back to a
 * worker that still holds an older clip of the scene, or a reset run can never find a stale file
 * under the name of a new clip. The key is reduced to a safe stem like a workflow id.
 */
export function sceneClipPath(workDir: string, workflowId: string, sceneIndex: number, clipKey: string): string {
  // A number by type, but activity input is JSON from the history: never let it shape a name.
  if (!Number.isSafeInteger(sceneIndex) || sceneIndex < 0) {
    throw new Error(`refusing scene index ${String(sceneIndex).slice(0, 40)}: not a whole number`);
  }
  if (typeof clipKey !== 'string' || clipKey.length === 0) throw new Error('refusing a clip without a key');
  return inside(runWorkDir(workDir, workflowId), `scene-${sceneIndex}-${safeStem(clipKey, 64)}.mp4`);
}

export function outputVideoPath(outputDir: string, workflowId: string): string {
  return inside(outputDir, `${safeStem(workflowId)}.mp4`);
}
