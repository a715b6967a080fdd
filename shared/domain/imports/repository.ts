// DynamoDB access of imports and exports: their jobs' list index, the one-job-per-object guard, the chunk checkpoint
// (outcomes and resume point in one leased write), and the batched reads an import chunk needs.
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { ddb } from "../../db/client.ts";
import { batchWriteAll } from "../../db/batch.ts";
import { type GuardedItem, transact } from "../../db/transact.ts";
import { customerKeys } from "../customers/keys.ts";
import { jobKeys } from "../jobs/keys.ts";
import { insertJob, LeaseLostError } from "../jobs/repository.ts";
import type { Job, JobError, JobItem } from "../jobs/schemas.ts";
import { importKeys as K } from "./keys.ts";

const table = () => env.TABLE_NAME;
const jobKey = (tenant: string, id: string) => ({ PK: jobKeys.pk(tenant, id), SK: jobKeys.jobSk() });

/** This S3 object (version) already started a job. */
export class ObjectAlreadyClaimedError extends Error {
  override readonly name = "ObjectAlreadyClaimedError";
}

/**
 * Stores a new import or export job on the tenant's list of jobs of its type, with `extras` (its audit entry, the
 * object guard of an S3 drop) in the same transaction.
 */
export async function insertListedJob(tenant: string, job: Job, extras: GuardedItem[]): Promise<void> {
  const listed = { ...job, GSI1PK: K.listPk(tenant, job.type), GSI1SK: K.listSk(job.id) };
  await insertJob(tenant, listed, extras);
}

/** The guard an S3 object version takes when it starts a job (in the job's own transaction). */
export function objectGuard(tenant: string, digest: string, jobId: string): GuardedItem {
  return {
    item: {
      Put: {
        TableName: table(),
        Item: { PK: K.objectGuardPk(tenant, digest), SK: K.guardSk(), entity: "import-object", jobId },
        ConditionExpression: "attribute_not_exists(PK)",
      },
    },
    onConditionFailed: () => new ObjectAlreadyClaimedError(digest),
  };
}

/** The job an S3 object version started, if any. */
export async function claimedBy(tenant: string, digest: string): Promise<string | undefined> {
  const res = await ddb.send(
    new GetCommand({
      TableName: table(),
      Key: { PK: K.objectGuardPk(tenant, digest), SK: K.guardSk() },
      ConsistentRead: true,
    }),
  );
  return res.Item?.jobId as string | undefined;
}

/**
 * Records the uploaded object's ETag on an import waiting for its upload; false when the job already has an ETag
 * (a repeated event, or a second upload to the same link: the job keeps the first file).
 */
export async function setUploaded(tenant: string, jobId: string, etag: string): Promise<boolean> {
  try {
    await ddb.send(
      new UpdateCommand({
        TableName: table(),
        Key: jobKey(tenant, jobId),
        UpdateExpression: "SET params.etag = :etag, updatedAt = :at ADD #version :one",
        ConditionExpression: "attribute_exists(PK) AND attribute_not_exists(params.etag) AND #status = :queued",
        ExpressionAttributeNames: { "#version": "version", "#status": "status" },
        ExpressionAttributeValues: { ":etag": etag, ":at": new Date().toISOString(), ":one": 1, ":queued": "queued" },
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/**
 * Fails an import that is still waiting for its upload (queued, no ETag recorded); false when the upload's event came
 * first or the job is no longer queued.
 */
export async function failAwaitingUpload(tenant: string, jobId: string, reason: string): Promise<boolean> {
  const at = new Date().toISOString();
  try {
    await ddb.send(
      new UpdateCommand({
        TableName: table(),
        Key: jobKey(tenant, jobId),
        UpdateExpression:
          "SET #status = :failed, failureReason = :reason, finishedAt = :at, updatedAt = :at ADD #version :one",
        ConditionExpression: "attribute_exists(PK) AND #status = :queued AND attribute_not_exists(params.etag)",
        ExpressionAttributeNames: { "#status": "status", "#version": "version" },
        ExpressionAttributeValues: {
          ":failed": "failed",
          ":queued": "queued",
          ":reason": reason,
          ":at": at,
          ":one": 1,
        },
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/** One page of a tenant's jobs of `type`, newest first; only `createdBy`'s when given. */
export async function listJobs(
  tenant: string,
  type: string,
  createdBy: string | undefined,
  limit: number,
  start: Record<string, unknown> | undefined,
): Promise<{ items: JobItem[]; state?: Record<string, unknown> }> {
  const res = await ddb.send(
    new QueryCommand({
      TableName: table(),
      IndexName: "GSI1",
      KeyConditionExpression: "GSI1PK = :pk",
      ...(createdBy ? { FilterExpression: "createdBy = :by" } : {}),
      ExpressionAttributeValues: { ":pk": K.listPk(tenant, type), ...(createdBy ? { ":by": createdBy } : {}) },
      ScanIndexForward: false,
      Limit: limit,
      ExclusiveStartKey: start,
    }),
  );
  return { items: (res.Items ?? []) as JobItem[], state: res.LastEvaluatedKey };
}

/** A chunk's outcome as the job stores it: the exact counters so far and where the next chunk starts. */
export interface ChunkCheckpoint {
  state: unknown;
  processed: number;
  total: number;
  percent: number;
  counts: Record<string, number>;
  errors: JobError[];
}

/**
 * Stores a chunk's outcomes and the resume point in one write fenced by the lease (with `extras`, the chunk's audit
 * entry, in the same transaction): either the chunk counts and the job moves past it, or neither happens.
 */
export async function saveChunk(
  tenant: string,
  jobId: string,
  owner: string,
  c: ChunkCheckpoint,
  extras: GuardedItem[] = [],
): Promise<void> {
  const update: GuardedItem = {
    item: {
      Update: {
        TableName: table(),
        Key: jobKey(tenant, jobId),
        UpdateExpression:
          "SET #state = :state, #processed = :processed, #total = :total, #percent = :percent, #counts = :counts, " +
          "#errors = :errors, updatedAt = :at ADD #version :one",
        ConditionExpression: "leaseOwner = :owner",
        ExpressionAttributeNames: {
          "#state": "state",
          "#processed": "processed",
          "#total": "total",
          "#percent": "percent",
          "#counts": "counts",
          "#errors": "errors",
          "#version": "version",
        },
        ExpressionAttributeValues: {
          ":state": c.state,
          ":processed": c.processed,
          ":total": c.total,
          ":percent": c.percent,
          ":counts": c.counts,
          ":errors": c.errors,
          ":at": new Date().toISOString(),
          ":one": 1,
          ":owner": owner,
        },
      },
    },
    onConditionFailed: () => new LeaseLostError(jobId),
  };
  await transact([update, ...extras]);
}

/** Reads items by key with BatchGetItem (100 a request), retrying UnprocessedKeys with backoff. */
export async function batchGet(keys: { PK: string; SK: string }[]): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending: Record<string, unknown>[] | undefined = keys.slice(i, i + 100);
    for (let attempt = 0; pending?.length; attempt++) {
      const res: BatchGetCommandOutput = await ddb.send(
        new BatchGetCommand({ RequestItems: { [table()]: { Keys: pending, ConsistentRead: true } } }),
      );
      out.push(...(res.Responses?.[table()] ?? []));
      pending = res.UnprocessedKeys?.[table()]?.Keys;
      if (pending?.length) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
    }
  }
  return out;
}

/**
 * Writes the rows of one group of an import chunk in one TransactWriteItems: the conditional items (profiles,
 * uniqueness guards, version checks) with their audit entries. A condition that fails cancels the whole group.
 */
export async function writeGroup(items: GuardedItem[]): Promise<void> {
  await transact(items);
}

/** Puts items that need no condition (search-index items) with BatchWriteItem, unprocessed ones retried. */
export async function putIndexItems(items: Record<string, unknown>[]): Promise<void> {
  await batchWriteAll(
    items.map((Item) => ({ PutRequest: { Item } })),
    4,
  );
}

/** Which customer holds each code and each USCC (guard items read consistently): value -> customer id. */
export async function guardOwners(
  tenant: string,
  codes: Iterable<string>,
  usccs: Iterable<string>,
): Promise<{ codes: Map<string, string>; usccs: Map<string, string> }> {
  const codeKeys = [...new Set([...codes].map((c) => c.toUpperCase()))].map((c) => ({
    PK: customerKeys.codeGuardPk(tenant, c),
    SK: customerKeys.guardSk(),
  }));
  const usccKeys = [...new Set(usccs)].map((u) => ({
    PK: customerKeys.usccGuardPk(tenant, u),
    SK: customerKeys.guardSk(),
  }));
  const found = await batchGet([...codeKeys, ...usccKeys]);
  const byPk = new Map(found.map((i) => [i.PK as string, i.customerId as string]));
  const codesOut = new Map<string, string>();
  const usccsOut = new Map<string, string>();
  for (const c of codes) {
    const id = byPk.get(customerKeys.codeGuardPk(tenant, c));
    if (id) codesOut.set(c.toUpperCase(), id);
  }
  for (const u of usccs) {
    const id = byPk.get(customerKeys.usccGuardPk(tenant, u));
    if (id) usccsOut.set(u, id);
  }
  return { codes: codesOut, usccs: usccsOut };
}

/** Stores a runner's own resume point (`state`) on its job, fenced by the lease. */
export async function saveState(tenant: string, jobId: string, owner: string, state: unknown): Promise<void> {
  try {
    await ddb.send(
      new UpdateCommand({
        TableName: table(),
        Key: jobKey(tenant, jobId),
        UpdateExpression: "SET #state = :state, updatedAt = :at ADD #version :one",
        ConditionExpression: "leaseOwner = :owner",
        ExpressionAttributeNames: { "#state": "state", "#version": "version" },
        ExpressionAttributeValues: { ":state": state, ":at": new Date().toISOString(), ":one": 1, ":owner": owner },
      }),
    );
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) throw new LeaseLostError(jobId);
    throw err;
  }
}
