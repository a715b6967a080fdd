// Backups: a consistent-per-page logical export of every item of one tenant to the backups bucket, as gzipped JSON
// Lines chunks plus a manifest, run as a job (type "backup") that checkpoints after each round of chunks and continues
// in a new invocation when its time runs short. Then retention deletes what the policy no longer keeps, and a
// nightly backup starts its own restore drill.
// adapter --> (use case) --> domain & repositories
import type { IdempotencyContext } from "../idempotency/idempotency.ts";
import type { Caller } from "../../auth/claims.ts";
import { env } from "../../config/env.ts";
import { NotFoundError } from "../../http/errors.ts";
import { logger } from "../../log/logger.ts";
import type { JobRun, JobRunner } from "../jobs/runner.ts";
import { type SendJobMessage, startJob } from "../jobs/service.ts";
import { requireAdmin, resolveViewer } from "../org/viewer.ts";
import { encodeChunk, entityOf, type RawItem } from "./codec.ts";
import { backupKeys as K, backupObjects as O } from "./keys.ts";
import {
  advanceBackup,
  type BackupItem,
  backupPut,
  deleteBackupObjects,
  deleteBackupRecord,
  downloadUrl,
  getBackupItem,
  listBackupItems,
  putObject,
  scanPrefixPage,
  type ScanState,
  toBackup,
} from "./repository.ts";
import { backupsToKeep, type RetentionPolicy } from "./retention.ts";
import { transact } from "../../db/transact.ts";
import { type Backup, BackupJobParamsSchema, type Chunk, type Manifest, TABLE_SCHEMA_VERSION } from "./schemas.ts";

/** Entities a backup leaves out: the jobs' own bookkeeping and the backup records (they describe the backups). */
export const NOT_BACKED_UP = new Set(["job", "job-item", "backup", "backup-night", "restore-state", "restore-lock"]);

export interface BackupOptions {
  /** Parallel Scan segments (each writes its own chunks). */
  segments: number;
  /** Scan page size (items evaluated per request, before the tenant filter). */
  pageLimit: number;
  /** A segment closes its chunk once it holds this many items (it may hold up to a page more). */
  chunkItems: number;
  /** Starts the drill a nightly backup runs after itself. */
  send?: SendJobMessage;
}

export const DEFAULT_BACKUP_OPTIONS: BackupOptions = { segments: 4, pageLimit: 1000, chunkItems: 5000 };

/** The identity scheduled jobs act under. */
export const systemCaller = (tenant: string): Caller => ({
  tenant,
  userId: "system:backup",
  roles: ["admin"],
  dept: undefined,
});

/** POST /v1/backups (admin): starts a backup job; the backup's id is the job's id. */
export async function requestBackup(
  caller: Caller,
  requestId?: string,
  send?: SendJobMessage,
  idem?: IdempotencyContext,
): Promise<{ jobId: string; backupId: string }> {
  requireAdmin(await resolveViewer(caller));
  return startBackup(caller, "on-demand", requestId, send, idem);
}

export async function startBackup(
  caller: Caller,
  trigger: "nightly" | "on-demand",
  requestId?: string,
  send?: SendJobMessage,
  idem?: IdempotencyContext,
): Promise<{ jobId: string; backupId: string }> {
  const job = await startJob(caller, { type: "backup", params: { trigger }, total: 0 }, requestId, send, [], idem);
  return { jobId: job.id, backupId: job.id };
}

/** GET /v1/backups (admin): the tenant's backups with their manifests, newest first. */
export async function listBackups(caller: Caller, limit: number): Promise<{ items: Backup[] }> {
  requireAdmin(await resolveViewer(caller));
  return { items: (await listBackupItems(caller.tenant, limit)).map(toBackup) };
}

/** How long a download link of a backup's objects stays valid. */
export const DOWNLOAD_LINK_SECONDS = 900;

/**
 * One backup of the caller's tenant (admin), with download links (presigned, 15 minutes) for its manifest and
 * chunks when it has finished; any other id, another tenant's included, is 404.
 */
export async function readBackup(
  caller: Caller,
  id: string,
): Promise<Backup & { links?: { manifest: string; chunks: Record<string, string> } }> {
  requireAdmin(await resolveViewer(caller));
  const b = await getBackupItem(caller.tenant, id);
  if (!b) throw new NotFoundError(`backup ${id} not found`);
  if (b.status !== "succeeded" || !b.manifestKey) return toBackup(b);
  const chunks: Record<string, string> = {};
  for (const c of b.chunks) {
    chunks[c.name] = await downloadUrl(O.chunk(caller.tenant, id, c.name), DOWNLOAD_LINK_SECONDS);
  }
  return { ...toBackup(b), links: { manifest: await downloadUrl(b.manifestKey, DOWNLOAD_LINK_SECONDS), chunks } };
}

export const retentionPolicy = (): RetentionPolicy => ({
  daily: env.BACKUP_KEEP_DAILY,
  weekly: env.BACKUP_KEEP_WEEKLY,
  monthly: env.BACKUP_KEEP_MONTHLY,
});

/** The jobs worker's runner for "backup" jobs. */
export function backupRunner(options: Partial<BackupOptions> = {}): JobRunner {
  const o = { ...DEFAULT_BACKUP_OPTIONS, ...options };
  return async (run) => {
    const { trigger } = BackupJobParamsSchema.pick({ trigger: true }).parse(run.job.params);
    let b = await ensureRecord(run, trigger, o);
    if (b.status === "running") {
      if ((await exportRounds(run, b, o)) === "paused") return "paused";
      b = (await getBackupItem(run.tenant, run.job.id))!;
      await finishBackup(run, b);
    }
    await applyRetention(run.tenant, retentionPolicy());
    if (trigger === "nightly") {
      const drill = await startJob(
        systemCaller(run.tenant),
        { type: "backup-drill", params: { backupId: run.job.id, mode: "drill" }, total: 0 },
        run.job.id,
        o.send,
      );
      logger.info("nightly backup done; drill started", { backupId: run.job.id, drillJobId: drill.id });
    }
    return "done";
  };
}

export const runBackup: JobRunner = backupRunner();

async function ensureRecord(run: JobRun, trigger: Backup["trigger"], o: BackupOptions): Promise<BackupItem> {
  const found = await getBackupItem(run.tenant, run.job.id);
  if (found) return found;
  const now = new Date().toISOString();
  const b: Backup & { scanState: string; stateSeq: number } = {
    id: run.job.id,
    status: "running",
    trigger,
    jobId: run.job.id,
    createdBy: run.job.createdBy,
    createdAt: run.job.createdAt,
    startedAt: now,
    items: 0,
    countsByEntity: {},
    chunks: [],
    tableSchemaVersion: TABLE_SCHEMA_VERSION,
    version: 1,
    scanState: JSON.stringify({ round: 0, segments: Array(o.segments).fill(null) } satisfies ScanState),
    stateSeq: 0,
  };
  try {
    await transact([backupPut(run.tenant, b)]);
  } catch {
    // Another delivery created it first: read theirs.
  }
  return (await getBackupItem(run.tenant, run.job.id))!;
}

/**
 * Rounds of the parallel Scan: each active segment reads pages until its chunk is full or it ends, writes the chunk,
 * and then the round's chunks, counts and scan positions are saved in one conditional update. A run that dies in
 * the middle of a round redoes that round from the saved positions and overwrites the same chunk names.
 */
async function exportRounds(run: JobRun, b: BackupItem, o: BackupOptions): Promise<"done" | "paused"> {
  const prefix = K.tenantPrefix(run.tenant);
  const state = JSON.parse(b.scanState!) as ScanState;
  let seq = b.stateSeq ?? 0;
  const chunks: Chunk[] = [...b.chunks];
  const counts: Record<string, number> = { ...b.countsByEntity };
  let items = b.items;
  let rounds = 0;
  while (state.segments.some((s) => s !== "done")) {
    if (rounds > 0 && run.timeIsShort()) return "paused";
    rounds += 1;
    const round = state.round;
    const results = await Promise.all(
      state.segments.map(async (pos, segment) => {
        if (pos === "done") return { segment, next: "done" as const };
        const collected: RawItem[] = [];
        let start: RawItem | undefined = pos ?? undefined;
        for (;;) {
          const page = await scanPrefixPage(prefix, segment, state.segments.length, start, o.pageLimit);
          for (const it of page.items) if (!NOT_BACKED_UP.has(entityOf(it))) collected.push(it);
          start = page.next;
          if (!start || collected.length >= o.chunkItems) break;
        }
        let chunk: Chunk | undefined;
        if (collected.length) {
          const enc = encodeChunk(collected);
          const name = O.chunkName(round, segment);
          await putObject(O.chunk(run.tenant, run.job.id, name), enc.body, "application/gzip");
          const countsByEntity: Record<string, number> = {};
          for (const it of collected) countsByEntity[entityOf(it)] = (countsByEntity[entityOf(it)] ?? 0) + 1;
          chunk = {
            name,
            items: enc.items,
            bytes: enc.bytes,
            sha256: enc.sha256,
            contentSha256: enc.contentSha256,
            countsByEntity,
          };
        }
        return { segment, next: start ?? ("done" as const), chunk };
      }),
    );
    for (const r of results) {
      state.segments[r.segment] = r.next;
      if (!r.chunk) continue;
      await run.record({ kind: "chunk", itemId: r.chunk.name, counter: "chunks" });
      chunks.push(r.chunk);
      items += r.chunk.items;
      for (const [e, n] of Object.entries(r.chunk.countsByEntity)) counts[e] = (counts[e] ?? 0) + n;
    }
    state.round += 1;
    await advanceBackup(run.tenant, run.job.id, seq, {
      scanState: JSON.stringify(state),
      chunks,
      countsByEntity: counts,
      items,
    });
    seq += 1;
    await run.checkpoint();
  }
  return "done";
}

async function finishBackup(run: JobRun, b: BackupItem): Promise<void> {
  const endedAt = new Date().toISOString();
  const manifest: Manifest = {
    format: "customer-master-backup/1",
    tenant: run.tenant,
    backupId: b.id,
    tableSchemaVersion: b.tableSchemaVersion,
    startedAt: b.startedAt!,
    endedAt,
    items: b.items,
    countsByEntity: b.countsByEntity,
    chunks: b.chunks,
  };
  const manifestKey = O.manifest(run.tenant, b.id);
  await putObject(manifestKey, JSON.stringify(manifest, null, 2), "application/json");
  await advanceBackup(run.tenant, b.id, b.stateSeq ?? 0, {
    status: "succeeded",
    endedAt,
    manifestKey,
  });
  logger.info("backup written", { backupId: b.id, items: b.items, chunks: b.chunks.length });
}

/** Deletes the tenant's finished backups the policy no longer keeps (objects first, then the record). */
export async function applyRetention(tenant: string, policy: RetentionPolicy): Promise<string[]> {
  const all = await listBackupItems(tenant);
  const done = all.filter((b) => b.status === "succeeded").map((b) => ({ id: b.id, at: b.startedAt ?? b.createdAt }));
  const keep = backupsToKeep(done, policy);
  const drop = done.filter((b) => !keep.has(b.id)).map((b) => b.id);
  for (const id of drop) {
    await deleteBackupObjects(tenant, id);
    await deleteBackupRecord(tenant, id);
  }
  if (drop.length) logger.info("backups deleted by retention", { tenant, deleted: drop });
  return drop;
}
