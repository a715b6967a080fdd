// Job use cases: start a job (stored, audited, queued) and read one (its creator or an admin; anyone else 404).
// adapter --> (use case) --> domain & repositories
import type { Caller } from "../../auth/claims.ts";
import { isId, newId } from "../../db/ids.ts";
import { NotFoundError } from "../../http/errors.ts";
import { logger } from "../../log/logger.ts";
import { sendMessage } from "../../queue/send.ts";
import type { GuardedItem } from "../../db/transact.ts";
import { auditPut } from "../audit/audit.ts";
import { type IdempotencyContext, once, type StoredResult } from "../idempotency/idempotency.ts";
import { resolveViewer } from "../org/viewer.ts";
import { failJob, getJobItem, insertJob, toJob } from "./repository.ts";
import type { Job, JobMessage, JobType } from "./schemas.ts";

/** The logical queue the jobs worker reads (functions/manifest.ts). */
export const JOBS_QUEUE = "jobs";

export type SendJobMessage = (msg: JobMessage) => Promise<void>;

/** Sends a job message to the jobs queue. */
export const sendToJobsQueue: SendJobMessage = async (msg) => {
  await sendMessage(JOBS_QUEUE, msg);
};

/** Counters every job starts with (a type may add its own as it records outcomes). */
const INITIAL_COUNTS = { moved: 0, skipped: 0, failed: 0 };

/** The audit entry of a job's creation (in the job's insert): the job as created, by the caller, in this request. */
export function jobCreatedAudit(caller: Caller, job: Job, requestId: string | undefined): GuardedItem {
  return auditPut(caller.tenant, {
    at: job.createdAt,
    actor: caller.userId,
    action: "create",
    entityType: "job",
    entityId: job.id,
    before: null,
    after: { ...job },
    requestId,
  });
}

/**
 * Stores a queued job (audited, in one transaction) and queues its first message. When the message cannot be sent
 * the job is marked failed at once, so it never sits queued forever, and the error propagates.
 *
 * With `idem` (the request's Idempotency-Key) a repeat within 24 h starts nothing and resolves the job the first
 * request started; the key is recorded in the job's own insert, so of parallel requests with one key one starts it.
 * `extras` may be a function, called only when a job is really started (a lock taken for it, say).
 */
export async function startJob(
  caller: Caller,
  input: {
    type: JobType;
    params: Record<string, unknown>;
    total: number;
    counts?: Record<string, number>;
    /** The job's id when `extras` must name it; a fresh one otherwise. */
    id?: string;
  },
  requestId: string | undefined,
  send: SendJobMessage = sendToJobsQueue,
  extras: GuardedItem[] | (() => Promise<GuardedItem[]>) = [],
  idem?: IdempotencyContext,
): Promise<Job> {
  const result = await once(idem, async (record) => {
    const job = await insertQueuedJob(caller, input, requestId, send, extras, record);
    return { status: 202, body: job };
  });
  return result.body as Job;
}

async function insertQueuedJob(
  caller: Caller,
  input: Parameters<typeof startJob>[1],
  requestId: string | undefined,
  send: SendJobMessage,
  extras: GuardedItem[] | (() => Promise<GuardedItem[]>),
  record: (result: StoredResult) => GuardedItem | undefined,
): Promise<Job> {
  const at = new Date().toISOString();
  const job: Job = {
    id: input.id ?? newId(),
    type: input.type,
    status: "queued",
    processed: 0,
    total: input.total,
    percent: 0,
    counts: { ...INITIAL_COUNTS, ...input.counts },
    errors: [],
    params: input.params,
    createdBy: caller.userId,
    createdAt: at,
    updatedAt: at,
    runs: 0,
    version: 1,
  };
  await insertJob(caller.tenant, job, [
    jobCreatedAudit(caller, job, requestId),
    ...(typeof extras === "function" ? await extras() : extras),
    ...[record({ status: 202, body: job })].filter((x) => x !== undefined),
  ]);
  await queueOrFail(caller.tenant, job.id, send, "job");
  return job;
}

/**
 * Sends a new job's first message; when it cannot be sent the job is failed at once (so it never sits queued
 * forever) and the error propagates.
 */
export async function queueOrFail(tenant: string, jobId: string, send: SendJobMessage, what: string): Promise<void> {
  try {
    await send({ jobId, tenant });
  } catch (err) {
    logger.error(`could not queue a new ${what}; marking it failed`, { jobId, error: err as Error });
    await failJob(tenant, jobId, `the ${what} could not be queued; start it again`);
    throw err;
  }
}

/** A job the caller may see: they started it, or they are an admin. Anyone else, and any other tenant, gets 404. */
export async function readJob(caller: Caller, id: string): Promise<Job> {
  if (!isId(id)) throw new NotFoundError(`job ${id} not found`);
  const [v, item] = await Promise.all([resolveViewer(caller), getJobItem(caller.tenant, id)]);
  if (!item || (item.createdBy !== caller.userId && !v.perms.admin)) throw new NotFoundError(`job ${id} not found`);
  return toJob(item);
}
