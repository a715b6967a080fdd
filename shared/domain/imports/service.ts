// Import use cases: start one (a job waiting for its upload, with a presigned PUT), start one from an S3 drop (the
// S3 event, at most one job per object version), read one (progress, counts, error report link) and list them.
// adapter --> (use case) --> domain & repositories
import { createHash } from "node:crypto";
import type { Caller } from "../../auth/claims.ts";
import { decodeCursor, encodeCursor } from "../../db/cursor.ts";
import { isId, newId } from "../../db/ids.ts";
import { NotFoundError } from "../../http/errors.ts";
import { env } from "../../config/env.ts";
import { logger } from "../../log/logger.ts";
import { sendMessage } from "../../queue/send.ts";
import type { GuardedItem } from "../../db/transact.ts";
import { type IdempotencyContext, once, type StoredResult } from "../idempotency/idempotency.ts";
import { failJob, getJobItem, toJob } from "../jobs/repository.ts";
import type { Job, JobItem } from "../jobs/schemas.ts";
import { jobCreatedAudit, type SendJobMessage, sendToJobsQueue } from "../jobs/service.ts";
import { requireWrite, resolveViewer } from "../org/viewer.ts";
import { COLUMNS_BY_ENTITY, type ImportEntity, SHEET_NAMES, templateHeader } from "./columns.ts";
import { XLSX_TYPE, zipWorkbook } from "../exports/xlsx-write.ts";
import { csvLine, UTF8_BOM } from "./csv.ts";
import {
  claimedBy,
  failAwaitingUpload,
  insertListedJob,
  listJobs,
  ObjectAlreadyClaimedError,
  objectGuard,
  setUploaded,
} from "./repository.ts";
import type { ImportParams, ImportStart, ImportState, UploadDeadlineMessage } from "./schemas.ts";
import { downloadUrl, objectKeys, uploadUrl } from "./storage.ts";

/** The user an S3 drop runs as: an admin of the tenant unless the tenant gives this user id a record of its own. */
export const IMPORT_SERVICE_USER = "svc-import";

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/;

/** A new job of `type`, queued, audited and listed, in one transaction. */
async function createJob(
  caller: Caller,
  type: "import" | "export",
  params: Record<string, unknown>,
  requestId: string | undefined,
  extras: GuardedItem[] | ((job: Job) => Promise<GuardedItem[]>) = [],
  id: string = newId(),
): Promise<Job> {
  const at = new Date().toISOString();
  const job: Job = {
    id,
    type,
    status: "queued",
    processed: 0,
    total: 0,
    percent: 0,
    counts: type === "import" ? { inserted: 0, updated: 0, skipped: 0, failed: 0 } : { exported: 0 },
    errors: [],
    params: { ...params, caller: { roles: caller.roles, ...(caller.dept ? { dept: caller.dept } : {}) } },
    createdBy: caller.userId,
    createdAt: at,
    updatedAt: at,
    runs: 0,
    version: 1,
  };
  await insertListedJob(caller.tenant, job, [
    jobCreatedAudit(caller, job, requestId),
    ...(typeof extras === "function" ? await extras(job) : extras),
  ]);
  return job;
}

export { createJob as createListedJob };

/** The logical queue of S3 notifications under imports/ (functions/manifest.ts), which also takes upload deadlines. */
export const IMPORTS_QUEUE = "imports";
/** SQS's longest delay: a deadline further away is reached in several delayed messages. */
export const MAX_DELAY_SECONDS = 900;

/** Sends an upload-deadline message with a delay (at most MAX_DELAY_SECONDS). */
export type SendDeadline = (msg: UploadDeadlineMessage, delaySeconds: number) => Promise<void>;

export const sendToImportsQueue: SendDeadline = async (msg, delaySeconds) => {
  await sendMessage(IMPORTS_QUEUE, msg, { delaySeconds });
};

/** The reason an import fails with when its file never came. */
export const NEVER_UPLOADED = "file was never uploaded";

/** When an import waiting for its upload gives up: the link's expiry plus IMPORT_UPLOAD_GRACE_SECONDS. */
function uploadDeadline(job: JobItem): number {
  const p = job.params as ImportParams;
  const expires = p.uploadExpiresAt
    ? Date.parse(p.uploadExpiresAt)
    : Date.parse(job.createdAt) + env.IMPORT_UPLOAD_TTL_SECONDS * 1000;
  return expires + env.IMPORT_UPLOAD_GRACE_SECONDS * 1000;
}

const delayUntil = (deadline: number, now: number) =>
  Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.ceil((deadline - now) / 1000)));

/**
 * Starts an import: a job that waits for its file, and a presigned PUT for it (valid IMPORT_UPLOAD_TTL_SECONDS). The
 * upload's S3 event starts the job; a delayed message on the imports queue fails it if the file never comes. When
 * that message cannot be sent the job is failed at once (so it never waits forever) and the error propagates.
 */
export async function startImport(
  caller: Caller,
  input: ImportStart,
  requestId?: string,
  sendDeadline: SendDeadline = sendToImportsQueue,
  idem?: IdempotencyContext,
): Promise<StartedImport> {
  requireWrite(await resolveViewer(caller));
  // With an Idempotency-Key a repeat gets the first answer (its upload link still valid until it expires).
  const result = await once(idem, async (record) => {
    const started = await newImport(caller, input, requestId, sendDeadline, record);
    return { status: 201, body: started };
  });
  return result.body as StartedImport;
}

interface StartedImport {
  id: string;
  status: string;
  uploadUrl: string;
  uploadMethod: "PUT";
  uploadExpiresAt: string;
}

async function newImport(
  caller: Caller,
  input: ImportStart,
  requestId: string | undefined,
  sendDeadline: SendDeadline,
  record: (result: StoredResult) => GuardedItem | undefined,
): Promise<StartedImport> {
  const id = newId();
  const key = objectKeys.upload(caller.tenant, id);
  const now = Date.now();
  const expiresAt = new Date(now + env.IMPORT_UPLOAD_TTL_SECONDS * 1000).toISOString();
  const params: ImportParams = {
    entity: input.entity,
    mode: input.mode,
    matchOn: input.matchOn,
    ...(input.mapping ? { mapping: input.mapping } : {}),
    dryRun: input.dryRun,
    ...(input.fileName ? { fileName: input.fileName } : {}),
    ...(input.sheet ? { sheet: input.sheet } : {}),
    key,
    source: "upload",
    uploadExpiresAt: expiresAt,
  };
  const url = await uploadUrl(key);
  const started: StartedImport = {
    id,
    status: "queued",
    uploadUrl: url,
    uploadMethod: "PUT",
    uploadExpiresAt: expiresAt,
  };
  const kept = record({ status: 201, body: started });
  await createJob(caller, "import", params, requestId, kept ? [kept] : [], id);
  try {
    const deadline = Date.parse(expiresAt) + env.IMPORT_UPLOAD_GRACE_SECONDS * 1000;
    await sendDeadline({ kind: "upload-deadline", tenant: caller.tenant, jobId: id }, delayUntil(deadline, now));
  } catch (err) {
    logger.error("could not schedule the upload deadline of an import; marking it failed", { jobId: id });
    await failJob(caller.tenant, id, "the import could not be started; start it again");
    throw err;
  }
  return started;
}

/**
 * Handles an upload-deadline message: an import still waiting for its upload once its link has expired (plus the
 * grace) fails with NEVER_UPLOADED; before that time the message is sent again, delayed; an import whose file came
 * (or that ended otherwise) is left alone.
 */
export async function checkUploadDeadline(
  msg: UploadDeadlineMessage,
  send: SendDeadline = sendToImportsQueue,
  now: number = Date.now(),
): Promise<"waiting" | "failed" | "moot"> {
  const job = await getJobItem(msg.tenant, msg.jobId);
  if (!job || job.type !== "import" || job.status !== "queued" || (job.params as ImportParams).etag) return "moot";
  const deadline = uploadDeadline(job);
  if (now < deadline) {
    await send(msg, delayUntil(deadline, now));
    return "waiting";
  }
  return (await failAwaitingUpload(msg.tenant, msg.jobId, NEVER_UPLOADED)) ? "failed" : "moot";
}

/** One S3 ObjectCreated record, as the import queue receives it. */
export interface ObjectCreated {
  bucket: string;
  /** Decoded key. */
  key: string;
  size: number;
  etag: string;
  sequencer: string;
}

/**
 * Handles an object created under `imports/`: the upload of an import started over the API starts that job; any
 * other object under `imports/<tenantId>/` starts a new customer upsert import as the tenant's import service user.
 * The same event delivered twice starts one job (a guard per object version, in the job's transaction); the job
 * message is sent again, which is harmless (the job's lease lets one delivery work on it).
 */
export async function importObjectCreated(
  o: ObjectCreated,
  send: SendJobMessage = sendToJobsQueue,
): Promise<{ jobId: string; outcome: "started" | "repeated" } | { outcome: "ignored"; reason: string }> {
  const [area, tenant, second, third] = o.key.split("/");
  if (area !== "imports" || !tenant || !TENANT_ID.test(tenant) || o.key.endsWith("/")) {
    return { outcome: "ignored", reason: "not an object under imports/<tenantId>/" };
  }
  if (isId(second) && third === "upload" && o.key === objectKeys.upload(tenant, second)) {
    const job = await getJobItem(tenant, second);
    if (job?.type === "import") {
      const params = job.params as ImportParams;
      if (await setUploaded(tenant, second, o.etag)) {
        await send({ jobId: second, tenant });
        return { jobId: second, outcome: "started" };
      }
      if (params.etag === o.etag) {
        await send({ jobId: second, tenant });
        return { jobId: second, outcome: "repeated" };
      }
      if (job.status === "failed" && !params.etag) {
        return { outcome: "ignored", reason: "the import ended before its file came (its upload link had expired)" };
      }
      return { outcome: "ignored", reason: "the job already has its file (an upload link is good for one file)" };
    }
  }
  const digest = createHash("sha256")
    .update(`${o.bucket}/${o.key}@${o.sequencer || o.etag}`)
    .digest("hex");
  const caller: Caller = { tenant, userId: IMPORT_SERVICE_USER, roles: ["admin"], dept: undefined };
  const params: ImportParams = {
    entity: "customers",
    mode: "upsert",
    matchOn: "code",
    dryRun: false,
    fileName: o.key.split("/").pop() ?? o.key,
    key: o.key,
    etag: o.etag,
    source: "s3-drop",
  };
  const id = newId();
  try {
    await createJob(caller, "import", params, `s3:${o.sequencer}`, [objectGuard(tenant, digest, id)], id);
  } catch (err) {
    if (!(err instanceof ObjectAlreadyClaimedError)) throw err;
    const jobId = await claimedBy(tenant, digest);
    if (!jobId) throw err;
    await send({ jobId, tenant });
    return { jobId, outcome: "repeated" };
  }
  await send({ jobId: id, tenant });
  return { jobId: id, outcome: "started" };
}

/** A job of `type` the caller may see (they started it, or they are an admin); 404 for anyone else. */
export async function readListedJob(caller: Caller, id: string, type: "import" | "export"): Promise<JobItem> {
  const what = type === "import" ? "import" : "export";
  if (!isId(id)) throw new NotFoundError(`${what} ${id} not found`);
  const [v, item] = await Promise.all([resolveViewer(caller), getJobItem(caller.tenant, id)]);
  if (!item || item.type !== type || (item.createdBy !== caller.userId && !v.perms.admin)) {
    throw new NotFoundError(`${what} ${id} not found`);
  }
  return item;
}

/**
 * The API view of an import: the job plus what the import found (encoding and cell separator, ignored columns, the
 * report link).
 */
export async function presentImport(item: JobItem) {
  const state = (item as { state?: ImportState }).state;
  const job = toJob(item);
  const { caller: _c, key: _k, etag: _e, ...params } = job.params as Record<string, unknown>;
  const out: Record<string, unknown> = { ...job, params, awaitingUpload: job.status === "queued" && !_e };
  if (state) {
    out.format = state.format;
    if (state.format === "csv") {
      out.encoding = state.encoding;
      out.delimiter = state.delimiter ?? ",";
    }
    if (state.sheetName) out.sheet = state.sheetName;
    out.columns = state.header;
    out.headerRow = state.headerLine ?? 1;
    out.ignoredColumns = state.ignoredColumns;
  }
  if (state?.reportKey) out.errorReportUrl = await downloadUrl(state.reportKey, `import-${item.id}-errors.csv`);
  return out;
}

export async function readImport(caller: Caller, id: string) {
  return presentImport(await readListedJob(caller, id, "import"));
}

/** A page of the tenant's jobs of `type`, newest first: all of them for an admin, one's own otherwise. */
export async function listListedJobs(
  caller: Caller,
  type: "import" | "export",
  q: { limit: number; cursor?: string | undefined },
) {
  const v = await resolveViewer(caller);
  const mine = v.perms.admin ? undefined : caller.userId;
  const scope = JSON.stringify(["jobs", type, mine ?? "*"]);
  const start = decodeCursor<Record<string, unknown>>(caller.tenant, scope, q.cursor);
  const page = await listJobs(caller.tenant, type, mine, q.limit, start);
  return { items: page.items, nextCursor: page.state ? encodeCursor(caller.tenant, scope, page.state) : null };
}

export async function listImports(caller: Caller, q: { limit: number; cursor?: string | undefined }) {
  const page = await listListedJobs(caller, "import", q);
  return { items: await Promise.all(page.items.map((i) => presentImport(i))), nextCursor: page.nextCursor };
}

/** The template of an entity: a CSV with the UTF-8 BOM (so Excel shows the Chinese headers) and the header row. */
export async function importTemplate(
  entity: string,
  format: "csv" | "xlsx" = "csv",
): Promise<{ fileName: string; contentType: string; body: string | Buffer }> {
  if (!Object.hasOwn(COLUMNS_BY_ENTITY, entity)) throw new NotFoundError(`no import template for ${entity}`);
  const header = templateHeader(COLUMNS_BY_ENTITY[entity as ImportEntity]);
  if (format === "xlsx") {
    const body = await zipWorkbook(header, SHEET_NAMES[entity as ImportEntity]);
    return { fileName: `${entity}-template.xlsx`, contentType: XLSX_TYPE, body };
  }
  return {
    fileName: `${entity}-template.csv`,
    contentType: "text/csv; charset=utf-8",
    body: UTF8_BOM + csvLine(header),
  };
}

export function logIgnored(o: ObjectCreated, reason: string) {
  logger.warn("S3 object not imported", { key: o.key, reason });
}
