// Restores from a backup, as jobs: "backup-drill" restores each chunk into an isolated scratch namespace, reads it
// back, checks it against the manifest (bytes and content hashes, counts) and against the live items it was taken
// from, then deletes the scratch copy; "backup-restore" (admin, mode replace) brings the tenant's data back to the
// backup's state: every backed-up item is written back, then every live item the backup does not hold is deleted.
// adapter --> (use case) --> domain & repositories
import type { IdempotencyContext } from "../idempotency/idempotency.ts";
import type { Caller } from "../../auth/claims.ts";
import { env } from "../../config/env.ts";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { ddb } from "../../db/client.ts";
import { newId } from "../../db/ids.ts";
import { type GuardedItem, transact } from "../../db/transact.ts";
import { ConflictError, NotFoundError } from "../../http/errors.ts";
import { logger } from "../../log/logger.ts";
import { auditPut } from "../audit/audit.ts";
import { JobFailedError, type JobRun, type JobRunner } from "../jobs/runner.ts";
import { getJobItem } from "../jobs/repository.ts";
import { type SendJobMessage, startJob } from "../jobs/service.ts";
import { requireAdmin, resolveViewer } from "../org/viewer.ts";
import { NOT_BACKED_UP } from "./backup.ts";
import {
  ChunkUnreadableError,
  canonicalJson,
  decodeChunk,
  entityOf,
  itemLines,
  keyId,
  linesSha256,
  type RawItem,
  rekey,
  sha256,
} from "./codec.ts";
import { backupKeys as K, backupObjects as O } from "./keys.ts";
import {
  type BackupItem,
  deleteRawKeys,
  getBackupItem,
  getObjectBytes,
  getRawItems,
  getRestoreState,
  putRawItems,
  type RestoreState,
  saveRestoreState,
  scanPrefixPage,
  setDrillReport,
} from "./repository.ts";
import {
  type Chunk,
  type DrillReport,
  ManifestSchema,
  type RestoreRequest,
  RestoreJobParamsSchema,
  TABLE_SCHEMA_VERSION,
} from "./schemas.ts";

/**
 * Entities a replace neither writes back nor deletes: the audit log is append-only (a restore is recorded in it, it
 * does not rewind it, so the hash chains stay valid), idempotency records and rate counters (no entity) are
 * short-lived bookkeeping, and the jobs' own items must survive the job that runs.
 */
export const NOT_REPLACED = new Set([...NOT_BACKED_UP, "audit", "audit-head", "idempotency", "unknown"]);

/** POST /v1/backups/{id}/restore (admin): 202 with the job that drills or replaces. */
export async function requestRestore(
  caller: Caller,
  backupId: string,
  input: RestoreRequest,
  requestId?: string,
  send?: SendJobMessage,
  idem?: IdempotencyContext,
): Promise<{ jobId: string }> {
  requireAdmin(await resolveViewer(caller));
  const b = await getBackupItem(caller.tenant, backupId);
  if (!b) throw new NotFoundError(`backup ${backupId} not found`);
  if (b.status !== "succeeded") throw new ConflictError(`backup ${backupId} is ${b.status}, not finished`);
  const type = input.mode === "drill" ? "backup-drill" : "backup-restore";
  const id = newId();
  const job = await startJob(
    caller,
    { id, type, params: { backupId, mode: input.mode }, total: b.chunks.length },
    requestId,
    send,
    // The lock is taken only when the job is really started: a replayed request finds its job, not the lock.
    async () => (input.mode === "replace" ? [await takeReplaceLock(caller.tenant, id, backupId)] : []),
    idem,
  );
  return { jobId: job.id };
}

/**
 * The tenant's replace lock for job `jobId`, as an item of the job's own insert: two replaces running at once (of two
 * backups, or a double click) would interleave their deletes and writes. Free when no replace ever ran or the job
 * it names has ended; refused (409) while that job is queued or running, and when another request took the lock
 * between this read and the insert.
 */
async function takeReplaceLock(tenant: string, jobId: string, backupId: string): Promise<GuardedItem> {
  const Key = { PK: K.replaceLockPk(tenant), SK: K.replaceLockSk() };
  const held = (await ddb.send(new GetCommand({ TableName: env.TABLE_NAME, Key, ConsistentRead: true }))).Item;
  if (held) {
    const holder = await getJobItem(tenant, held.jobId as string);
    if (holder && (holder.status === "queued" || holder.status === "running")) {
      throw new ConflictError(
        `a replace of this tenant is under way (job ${holder.id}); start another when it has ended`,
      );
    }
  }
  const refused = () => new ConflictError("another replace of this tenant was started just now");
  return {
    item: {
      Put: {
        TableName: env.TABLE_NAME,
        Item: { ...Key, entity: "restore-lock", jobId, backupId, at: new Date().toISOString() },
        ConditionExpression: held ? "jobId = :held" : "attribute_not_exists(PK)",
        ...(held ? { ExpressionAttributeValues: { ":held": held.jobId } } : {}),
      },
    },
    onConditionFailed: refused,
  };
}

/** Emits the failed-drill metric (CloudWatch Embedded Metric Format: the log line is the metric) and the alert. */
export function reportFailedDrill(tenant: string, backupId: string, report: DrillReport): void {
  const metric = {
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: "CustomerMaster",
          Dimensions: [["Stage"]],
          Metrics: [{ Name: "RestoreDrillFailed", Unit: "Count" }],
        },
      ],
    },
    Stage: env.STAGE,
    RestoreDrillFailed: 1,
  };
  // Straight to stdout: Lambda ships it to CloudWatch Logs, which turns it into the metric the alarm watches.
  process.stdout.write(`${JSON.stringify(metric)}\n`);
  logger.error("ALERT restore drill failed", { tenant, backupId, failedChunks: report.failedChunks });
}

async function loadBackup(run: JobRun): Promise<BackupItem> {
  const { backupId } = RestoreJobParamsSchema.parse(run.job.params);
  const b = await getBackupItem(run.tenant, backupId);
  if (!b || b.status !== "succeeded") throw new Error(`backup ${backupId} is missing or not finished`);
  return b;
}

/** Reads a chunk and checks it against the manifest; resolves its items, or why it cannot be trusted. */
async function readChunk(
  tenant: string,
  backupId: string,
  c: Chunk,
): Promise<{ items: RawItem[] } | { reason: string }> {
  let bytes: Uint8Array;
  try {
    bytes = await getObjectBytes(O.chunk(tenant, backupId, c.name));
  } catch (err) {
    return { reason: `cannot be read: ${(err as Error).name}` };
  }
  if (sha256(bytes) !== c.sha256) return { reason: "SHA-256 of the stored bytes differs from the manifest" };
  let items: RawItem[];
  try {
    items = decodeChunk(bytes);
  } catch (err) {
    if (err instanceof ChunkUnreadableError) return { reason: err.message };
    throw err;
  }
  if (items.length !== c.items) return { reason: `holds ${items.length} items, the manifest says ${c.items}` };
  if (linesSha256(itemLines(items)) !== c.contentSha256) return { reason: "content hash differs from the manifest" };
  return { items };
}

/** The jobs worker's runner for "backup-drill" jobs: one chunk at a time; the report so far is saved after each. */
export const runDrill: JobRunner = async (run) => {
  const b = await loadBackup(run);
  const from = K.tenantPrefix(run.tenant);
  const to = K.tenantPrefix(K.scratchTenant(run.job.id));
  const state = await getRestoreState(run.tenant, run.job.id);
  const done = new Set(state.done ?? []);
  const report: DrillReport = state.report ?? {
    jobId: run.job.id,
    status: "passed",
    at: "",
    failedChunks: [],
    verifiedItems: 0,
    parity: { identical: 0, changedSince: 0, goneSince: 0 },
  };
  if (!state.report) {
    // The manifest object must agree with the record the API lists.
    const problem = await checkManifest(run.tenant, b);
    if (problem) report.failedChunks.push({ name: "manifest.json", reason: problem });
  }
  let handled = 0;
  for (const c of b.chunks) {
    if (done.has(c.name)) continue;
    if (handled > 0 && run.timeIsShort()) return "paused";
    handled += 1;
    const verdict = await drillChunk(run.tenant, b.id, c, from, to, report);
    if (verdict) {
      report.failedChunks.push({ name: c.name, reason: verdict });
      await run.record({ kind: "chunk", itemId: c.name, counter: "failed", error: `${c.name}: ${verdict}` });
    } else {
      await run.record({ kind: "chunk", itemId: c.name, counter: "verified" });
    }
    done.add(c.name);
    state.done = [...done];
    state.report = report;
    await saveRestoreState(run.tenant, run.job.id, state);
  }
  report.status = report.failedChunks.length > 0 ? "failed" : "passed";
  report.at = new Date().toISOString();
  await setDrillReport(run.tenant, b.id, report);
  if (report.status === "passed") {
    logger.info("restore drill passed", { backupId: b.id, items: report.verifiedItems, parity: report.parity });
    return "done";
  }
  // The alarm first, then the job ends as failed with the failing chunks in its reason.
  reportFailedDrill(run.tenant, b.id, report);
  throw new JobFailedError(drillFailureReason(b.id, report));
};

/** The failed drill job's reason: the backup and each failing chunk with why (the first few; the report has all). */
export function drillFailureReason(backupId: string, report: DrillReport): string {
  const shown = report.failedChunks.slice(0, 5).map((c) => `${c.name}: ${c.reason}`);
  const more = report.failedChunks.length - shown.length;
  return (
    `restore drill of backup ${backupId} failed: ${report.failedChunks.length} chunk(s) did not restore as recorded ` +
    `(${shown.join("; ")}${more > 0 ? `; and ${more} more` : ""})`
  );
}

/**
 * Restores one chunk into the scratch namespace, reads it back and compares it with the manifest (count per entity,
 * content hash) and with the live items; deletes the scratch copy whatever happens. Resolves why it failed, or
 * undefined when it restored exactly.
 */
async function drillChunk(
  tenant: string,
  backupId: string,
  c: Chunk,
  from: string,
  to: string,
  report: DrillReport,
): Promise<string | undefined> {
  const res = await readChunk(tenant, backupId, c);
  if ("reason" in res) return res.reason;
  const scratch = res.items.map((it) => rekey(it, from, to));
  try {
    await putRawItems(scratch);
    const back = await getRawItems(scratch);
    const restored = [...back.values()].map((it) => rekey(it, to, from));
    if (restored.length !== c.items) return `restored ${restored.length} of ${c.items} items`;
    const counts: Record<string, number> = {};
    for (const it of restored) counts[entityOf(it)] = (counts[entityOf(it)] ?? 0) + 1;
    if (canonicalJson(counts) !== canonicalJson(c.countsByEntity)) return "restored counts per entity differ";
    if (linesSha256(itemLines(restored)) !== c.contentSha256) return "restored items differ from the backup";
    const live = await getRawItems(res.items);
    for (const it of res.items) {
      const now = live.get(keyId(it));
      if (!now) report.parity.goneSince += 1;
      else if (canonicalJson(now) === canonicalJson(it)) report.parity.identical += 1;
      else report.parity.changedSince += 1;
    }
    report.verifiedItems += restored.length;
    return undefined;
  } finally {
    await deleteRawKeys(scratch);
  }
}

async function checkManifest(tenant: string, b: BackupItem): Promise<string | undefined> {
  try {
    const m = ManifestSchema.parse(JSON.parse(Buffer.from(await getObjectBytes(b.manifestKey!)).toString("utf8")));
    if (m.tableSchemaVersion !== TABLE_SCHEMA_VERSION) return `table schema version ${m.tableSchemaVersion} is unknown`;
    if (m.tenant !== tenant || m.backupId !== b.id) return "belongs to another backup";
    if (canonicalJson(m.chunks) !== canonicalJson(b.chunks)) return "lists other chunks than the backup record";
    return undefined;
  } catch (err) {
    return `cannot be read: ${(err as Error).message.slice(0, 200)}`;
  }
}

/**
 * The jobs worker's runner for "backup-restore" (replace) jobs. Phase "chunks": each chunk is verified and written
 * back (recorded once per chunk). Phase "sweep": a Scan of the tenant deletes every live item whose key the backup
 * does not hold. Both are idempotent, so a resumed run simply carries on from the saved state.
 */
export const runReplace: JobRunner = async (run) => {
  const b = await loadBackup(run);
  const state = await getRestoreState(run.tenant, run.job.id);
  let handled = 0;
  if (state.phase === "chunks") {
    // Refuse before changing anything if any chunk cannot be trusted (checked once, before the first write).
    if ((run.job.processed ?? 0) === 0) {
      for (const c of b.chunks) {
        const res = await readChunk(run.tenant, b.id, c);
        if ("reason" in res) throw new Error(`chunk ${c.name} ${res.reason}; nothing was restored`);
      }
    }
    for (const c of b.chunks) {
      if (handled > 0 && run.timeIsShort()) return "paused";
      handled += 1;
      const res = await readChunk(run.tenant, b.id, c);
      if ("reason" in res) throw new Error(`chunk ${c.name} ${res.reason}; nothing more is restored`);
      const items = res.items.filter((it) => !NOT_REPLACED.has(entityOf(it)));
      const outcome = await run.record({ kind: "chunk", itemId: c.name, counter: "restored" }, async (extras) => {
        await putRawItems(items);
        await transact(extras);
      });
      if (outcome === "already") continue;
    }
    state.phase = "sweep";
    state.sweep = [null, null, null, null];
    state.deleted = 0;
    await saveRestoreState(run.tenant, run.job.id, state);
  }
  if (state.phase === "sweep") {
    const keep = new Set<string>();
    for (const c of b.chunks) {
      const res = await readChunk(run.tenant, b.id, c);
      if ("reason" in res) throw new Error(`chunk ${c.name} ${res.reason}`);
      for (const it of res.items) keep.add(keyId(it));
    }
    const prefix = K.tenantPrefix(run.tenant);
    const segs = state.sweep!;
    while (segs.some((s) => s !== "done")) {
      if (run.timeIsShort()) return "paused";
      await Promise.all(
        segs.map(async (pos, segment) => {
          if (pos === "done") return;
          const page = await scanPrefixPage(prefix, segment, segs.length, pos ?? undefined, 1000);
          const gone = page.items.filter((it) => !NOT_REPLACED.has(entityOf(it)) && !keep.has(keyId(it)));
          await deleteRawKeys(gone);
          state.deleted = (state.deleted ?? 0) + gone.length;
          segs[segment] = page.next ?? "done";
        }),
      );
      await saveRestoreState(run.tenant, run.job.id, state);
    }
    state.phase = "done";
    await saveRestoreState(run.tenant, run.job.id, state);
    await transact([
      auditPut(run.tenant, {
        at: new Date().toISOString(),
        actor: run.job.createdBy,
        action: "restore",
        entityType: "backup",
        entityId: b.id,
        before: null,
        after: { mode: "replace", jobId: run.job.id, items: b.items, deletedSinceBackup: state.deleted ?? 0 },
        requestId: run.job.id,
      }),
    ]);
    logger.info("tenant restored from backup", { backupId: b.id, deleted: state.deleted });
  }
  return "done";
};

export type { RestoreState };
