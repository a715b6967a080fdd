// All DynamoDB access for jobs: the job item (created, leased, counted, checkpointed, finished) and its item markers.
// Every change a run makes is conditional on holding the lease, so a run that lost it can change nothing.
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { ddb } from "../../db/client.ts";
import { TTL_ATTRIBUTE } from "../../db/table.ts";
import { type GuardedItem, transact } from "../../db/transact.ts";
import { jobKeys as K } from "./keys.ts";
import type { Job, JobError, JobItem, JobStatus } from "./schemas.ts";

const table = () => env.TABLE_NAME;
const key = (tenant: string, id: string) => ({ PK: K.pk(tenant, id), SK: K.jobSk() });

/** Item markers are kept this long after they are written (DynamoDB TTL), well past any job's life. */
const MARKER_TTL_SECONDS = 30 * 24 * 3600;

/** The run no longer holds the job's lease (it expired and another invocation took it): it must stop at once. */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
  constructor(jobId: string) {
    super(`job ${jobId}: this invocation no longer holds the lease`);
  }
}

/** The job already recorded an outcome for this item (an earlier run, or a stale index row seen again). */
export class AlreadyRecordedError extends Error {
  override readonly name = "AlreadyRecordedError";
  constructor(kind: string, itemId: string) {
    super(`${kind} ${itemId} was already handled by this job`);
  }
}

/** Not part of the API view: keys, the lease, and a runner's own resume point (`state`, `cursor`). */
const LEASE_ATTRS = ["PK", "SK", "GSI1PK", "GSI1SK", "entity", "leaseOwner", "leaseUntil", "state", "cursor"];

/** The API view of a stored job. */
export function toJob(item: JobItem | Record<string, unknown>): Job {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!LEASE_ATTRS.includes(k)) out[k] = v;
  return out as unknown as Job;
}

const isConditionFailure = (err: unknown) => err instanceof ConditionalCheckFailedException;

/** Creates a job (with `extras`, such as its audit entry, in the same transaction). */
export async function insertJob(tenant: string, job: Job, extras: GuardedItem[] = []): Promise<void> {
  await transact([
    {
      item: {
        Put: {
          TableName: table(),
          Item: { ...key(tenant, job.id), entity: "job", ...job },
          ConditionExpression: "attribute_not_exists(PK)",
        },
      },
    },
    ...extras,
  ]);
}

/** Reads a job, strongly consistent. */
export async function getJobItem(tenant: string, id: string): Promise<JobItem | undefined> {
  const res = await ddb.send(new GetCommand({ TableName: table(), Key: key(tenant, id), ConsistentRead: true }));
  return res.Item as JobItem | undefined;
}

/**
 * Takes the job's lease for `owner` until `leaseUntil` (epoch ms) if the job is queued or running and nobody holds
 * an unexpired lease; marks it running. Resolves the job as it now is, or undefined when the lease is not free
 * (another delivery works on it) or the job is missing or finished.
 */
export async function acquireLease(
  tenant: string,
  id: string,
  owner: string,
  leaseUntil: number,
  now: Date,
): Promise<JobItem | undefined> {
  try {
    const res = await ddb.send(
      new UpdateCommand({
        TableName: table(),
        Key: key(tenant, id),
        UpdateExpression:
          "SET #status = :running, leaseOwner = :owner, leaseUntil = :until, updatedAt = :at, " +
          "startedAt = if_not_exists(startedAt, :at) ADD #runs :one, #version :one",
        ConditionExpression:
          "attribute_exists(PK) AND #status IN (:queued, :running) AND " +
          "(attribute_not_exists(leaseUntil) OR leaseUntil < :nowMs)",
        ExpressionAttributeNames: { "#status": "status", "#runs": "runs", "#version": "version" },
        ExpressionAttributeValues: {
          ":running": "running",
          ":queued": "queued",
          ":owner": owner,
          ":until": leaseUntil,
          ":at": now.toISOString(),
          ":nowMs": now.getTime(),
          ":one": 1,
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    return res.Attributes as JobItem;
  } catch (err) {
    if (isConditionFailure(err)) return undefined;
    throw err;
  }
}

/** Gives the lease up (a no-op when this owner no longer holds it). */
export async function releaseLease(tenant: string, id: string, owner: string): Promise<void> {
  try {
    await ddb.send(
      new UpdateCommand({
        TableName: table(),
        Key: key(tenant, id),
        UpdateExpression: "SET updatedAt = :at REMOVE leaseOwner, leaseUntil ADD #version :one",
        ConditionExpression: "leaseOwner = :owner",
        ExpressionAttributeNames: { "#version": "version" },
        ExpressionAttributeValues: { ":owner": owner, ":at": new Date().toISOString(), ":one": 1 },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

/** One item's outcome, recorded by the transaction items `outcomeItems` builds. */
export interface Outcome {
  kind: string;
  itemId: string;
  /** The counter it adds one to (`moved`, `skipped`, `failed`...). */
  counter: string;
  /** Kept in the job's bounded `errors` list when `keepError` is set. */
  error?: JobError;
  keepError?: boolean;
}

/**
 * Transaction items that record one item's outcome exactly once, fenced by the lease: a marker for (kind, id) that
 * must not exist yet, and the job's counters (`processed`, the outcome's counter, maybe `errors`).
 */
export function outcomeItems(tenant: string, jobId: string, owner: string, o: Outcome, now: Date): GuardedItem[] {
  const at = now.toISOString();
  const values: Record<string, unknown> = { ":owner": owner, ":one": 1, ":at": at };
  let set = "SET updatedAt = :at";
  if (o.error && o.keepError) {
    set += ", #errors = list_append(if_not_exists(#errors, :none), :error)";
    values[":none"] = [];
    values[":error"] = [o.error];
  }
  return [
    {
      item: {
        Put: {
          TableName: table(),
          Item: {
            PK: K.pk(tenant, jobId),
            SK: K.markerSk(o.kind, o.itemId),
            entity: "job-item",
            kind: o.kind,
            itemId: o.itemId,
            outcome: o.counter,
            at,
            [TTL_ATTRIBUTE]: Math.floor(now.getTime() / 1000) + MARKER_TTL_SECONDS,
          },
          ConditionExpression: "attribute_not_exists(PK)",
        },
      },
      onConditionFailed: () => new AlreadyRecordedError(o.kind, o.itemId),
    },
    {
      item: {
        Update: {
          TableName: table(),
          Key: key(tenant, jobId),
          UpdateExpression: `${set} ADD #processed :one, #counts.#counter :one, #version :one`,
          ConditionExpression: "leaseOwner = :owner",
          ExpressionAttributeNames: {
            "#processed": "processed",
            "#version": "version",
            "#counts": "counts",
            "#counter": o.counter,
            ...(o.error && o.keepError ? { "#errors": "errors" } : {}),
          },
          ExpressionAttributeValues: values,
        },
      },
      onConditionFailed: () => new LeaseLostError(jobId),
    },
  ];
}

async function leasedUpdate(
  tenant: string,
  id: string,
  owner: string,
  update: { expression: string; names?: Record<string, string>; values: Record<string, unknown> },
): Promise<void> {
  try {
    await ddb.send(
      new UpdateCommand({
        TableName: table(),
        Key: key(tenant, id),
        UpdateExpression: update.expression,
        ConditionExpression: "leaseOwner = :owner",
        ExpressionAttributeNames: { "#version": "version", ...update.names },
        ExpressionAttributeValues: { ...update.values, ":owner": owner },
      }),
    );
  } catch (err) {
    if (isConditionFailure(err)) throw new LeaseLostError(id);
    throw err;
  }
}

/** Stores the percent done (the counters are already exact: each outcome's transaction added to them). */
export async function checkpointJob(tenant: string, id: string, owner: string, percent: number): Promise<void> {
  await leasedUpdate(tenant, id, owner, {
    expression: "SET #percent = :p, updatedAt = :at ADD #version :one",
    names: { "#percent": "percent" },
    values: { ":p": percent, ":at": new Date().toISOString(), ":one": 1 },
  });
}

/**
 * Stores where a paging job continues (with its percent), fenced by the lease like every other change. With
 * `progress`, the job's processed count and counters are stored in the same write: a runner that counts a page's
 * outcomes itself (no per-item marker) saves them with the cursor, so a page repeated after a crash is counted once.
 */
export async function saveJobCursor(
  tenant: string,
  id: string,
  owner: string,
  cursor: unknown,
  percent: number,
  progress?: { processed: number; counts: Record<string, number> },
): Promise<void> {
  await leasedUpdate(tenant, id, owner, {
    expression:
      "SET #cursor = :c, #percent = :p, updatedAt = :at" +
      (progress ? ", #processed = :processed, #counts = :counts" : "") +
      " ADD #version :one",
    names: {
      "#cursor": "cursor",
      "#percent": "percent",
      ...(progress ? { "#processed": "processed", "#counts": "counts" } : {}),
    },
    values: {
      ":c": cursor ?? null,
      ":p": percent,
      ":at": new Date().toISOString(),
      ":one": 1,
      ...(progress ? { ":processed": progress.processed, ":counts": progress.counts } : {}),
    },
  });
}

/** Marks the job succeeded (percent 100, total = what was handled) and gives the lease up. */
export async function finishJob(tenant: string, id: string, owner: string, processed: number): Promise<void> {
  const at = new Date().toISOString();
  await leasedUpdate(tenant, id, owner, {
    expression:
      "SET #status = :done, #percent = :p, #total = :total, finishedAt = :at, updatedAt = :at " +
      "REMOVE leaseOwner, leaseUntil ADD #version :one",
    names: { "#status": "status", "#percent": "percent", "#total": "total" },
    values: { ":done": "succeeded" satisfies JobStatus, ":p": 100, ":total": processed, ":at": at, ":one": 1 },
  });
}

/** Marks a queued or running job failed with a reason safe to show; false when it had already finished. */
export async function failJob(tenant: string, id: string, reason: string): Promise<boolean> {
  const at = new Date().toISOString();
  try {
    await ddb.send(
      new UpdateCommand({
        TableName: table(),
        Key: key(tenant, id),
        UpdateExpression:
          "SET #status = :failed, failureReason = :reason, finishedAt = :at, updatedAt = :at " +
          "REMOVE leaseOwner, leaseUntil ADD #version :one",
        ConditionExpression: "#status IN (:queued, :running)",
        ExpressionAttributeNames: { "#status": "status", "#version": "version" },
        ExpressionAttributeValues: {
          ":failed": "failed",
          ":queued": "queued",
          ":running": "running",
          ":reason": reason,
          ":at": at,
          ":one": 1,
        },
      }),
    );
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}
