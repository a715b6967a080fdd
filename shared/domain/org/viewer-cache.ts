// What resolving a viewer reads (the user's record and department), kept per function instance for VIEWER_CACHE_MS so
// a request whose data read cannot be combined with it (a Query: list, search, the 360 view) costs one DynamoDB
// request, not two. Every write of a user record or a department through this code clears the cache of the instance
// that made it at once (the whole local runtime is one instance); other instances see the change within the TTL.
// VIEWER_CACHE_MS=0 turns the cache off: every request then reads the records.
import { env } from "../../config/env.ts";
import type { Department, User } from "./schemas.ts";

export interface ViewerRecords {
  user?: User;
  dept?: Department;
}

const entries = new Map<string, { at: number; records: ViewerRecords }>();
/** Bumped by every invalidation: a read that started before one must not store what it read. */
let generation = 0;
/** Entries kept at most (the oldest go first): a function instance serves a bounded set of users. */
const MAX_ENTRIES = 10_000;

const keyOf = (tenant: string, userId: string, deptId: string | undefined) =>
  `${tenant}\u0000${userId}\u0000${deptId ?? ""}`;

/** The records read for this user within the TTL, if any. */
export function cachedViewerRecords(
  tenant: string,
  userId: string,
  deptId: string | undefined,
): ViewerRecords | undefined {
  if (env.VIEWER_CACHE_MS <= 0) return undefined;
  const key = keyOf(tenant, userId, deptId);
  const hit = entries.get(key);
  if (!hit) return undefined;
  if (Date.now() - hit.at >= env.VIEWER_CACHE_MS) {
    entries.delete(key);
    return undefined;
  }
  return hit.records;
}

/** The cache's generation now: pass it to {@link storeViewerRecords} with what a read that starts now returns. */
export const viewerCacheGeneration = () => generation;

/** Keeps what a read returned, unless a user or department was written since the read began (`startedAt`). */
export function storeViewerRecords(
  tenant: string,
  userId: string,
  deptId: string | undefined,
  records: ViewerRecords,
  startedAt: number,
): void {
  if (env.VIEWER_CACHE_MS <= 0 || startedAt !== generation) return;
  const key = keyOf(tenant, userId, deptId);
  entries.delete(key);
  entries.set(key, { at: Date.now(), records });
  if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
}

/** Forgets every cached record: called after each write of a user record or a department. */
export function invalidateViewers(): void {
  generation++;
  entries.clear();
}
