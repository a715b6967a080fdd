// All DynamoDB and S3 access of backups: backup records, the whole-tenant scan, batched writes/reads/deletes of raw
// items (a restore), a restore job's state item, and the objects in the backups bucket.
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  ScanCommand,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { dynamo, ddb } from "../../db/client.ts";
import type { GuardedItem } from "../../db/transact.ts";
import { ConflictError } from "../../http/errors.ts";
import { s3 } from "../../storage/client.ts";
import { customerKeys } from "../customers/keys.ts";
import { interactionKeys } from "../interactions/keys.ts";
import { orderKeys } from "../orders/keys.ts";
import type { OrderRecord } from "../orders/present.ts";
import { orderItem } from "../orders/repository.ts";
import { keyId, type RawItem } from "./codec.ts";
import { backupKeys as K, backupObjects as O } from "./keys.ts";
import type { Backup, DrillReport } from "./schemas.ts";

const table = () => env.TABLE_NAME;
const bucket = () => env.BACKUPS_BUCKET;
const key = (tenant: string, id: string) => ({ PK: K.pk(tenant, id), SK: K.sk() });

/** Scan position of a running backup: one LastEvaluatedKey per segment (null: not started, "done": finished). */
export interface ScanState {
  round: number;
  segments: (RawItem | null | "done")[];
}

export type BackupItem = Backup & { scanState?: string; stateSeq?: number };

/** Someone else moved the backup's state on (another delivery of its job): this run must stop. */
export class BackupStateMovedError extends Error {
  override readonly name = "BackupStateMovedError";
}

const HIDDEN = ["PK", "SK", "GSI1PK", "GSI1SK", "entity", "scanState", "stateSeq"];
export function toBackup(item: BackupItem): Backup {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!HIDDEN.includes(k)) out[k] = v;
  return out as unknown as Backup;
}

/** Creates the backup record (with the job that fills it). */
export function backupPut(tenant: string, b: Backup) {
  return {
    item: {
      Put: {
        TableName: table(),
        Item: { ...key(tenant, b.id), GSI1PK: K.listPk(tenant), GSI1SK: K.listSk(b.id), entity: "backup", ...b },
        ConditionExpression: "attribute_not_exists(PK)",
      },
    },
  };
}

export async function getBackupItem(tenant: string, id: string): Promise<BackupItem | undefined> {
  const res = await ddb.send(new GetCommand({ TableName: table(), Key: key(tenant, id), ConsistentRead: true }));
  return res.Item as BackupItem | undefined;
}

/** The tenant's backups, newest first (all of them: retention keeps the list short). */
export async function listBackupItems(tenant: string, limit = 1000): Promise<BackupItem[]> {
  const out: BackupItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await ddb.send(
      new QueryCommand({
        TableName: table(),
        IndexName: "GSI1",
        KeyConditionExpression: "GSI1PK = :pk",
        ExpressionAttributeValues: { ":pk": K.listPk(tenant) },
        ScanIndexForward: false,
        ExclusiveStartKey: start,
        Limit: Math.min(limit - out.length, 200),
      }),
    );
    out.push(...((res.Items ?? []) as BackupItem[]));
    start = res.LastEvaluatedKey;
  } while (start && out.length < limit);
  return out;
}

/** Moves a running backup's state from `seq` to `seq + 1` with `set` (fails if someone else moved it first). */
export async function advanceBackup(
  tenant: string,
  id: string,
  seq: number,
  set: Record<string, unknown>,
): Promise<void> {
  const names: Record<string, string> = { "#seq": "stateSeq", "#version": "version" };
  const values: Record<string, unknown> = { ":seq": seq, ":next": seq + 1, ":one": 1 };
  const parts = Object.entries(set).map(([k, v], i) => {
    names[`#f${i}`] = k;
    values[`:v${i}`] = v;
    return `#f${i} = :v${i}`;
  });
  try {
    await ddb.send(
      new UpdateCommand({
        TableName: table(),
        Key: key(tenant, id),
        UpdateExpression: `SET ${[...parts, "#seq = :next"].join(", ")} ADD #version :one`,
        ConditionExpression: "attribute_exists(PK) AND (#seq = :seq OR (attribute_not_exists(#seq) AND :seq = :zero))",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ...values, ":zero": 0 },
      }),
    );
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) throw new BackupStateMovedError(`backup ${id} moved on`);
    throw err;
  }
}

/** Stores a drill's report on its backup (the latest drill wins). */
export async function setDrillReport(tenant: string, id: string, drill: Backup["drill"]): Promise<void> {
  await ddb.send(
    new UpdateCommand({
      TableName: table(),
      Key: key(tenant, id),
      UpdateExpression: "SET drill = :d ADD #version :one",
      ConditionExpression: "attribute_exists(PK)",
      ExpressionAttributeNames: { "#version": "version" },
      ExpressionAttributeValues: { ":d": drill, ":one": 1 },
    }),
  );
}

export async function deleteBackupRecord(tenant: string, id: string): Promise<void> {
  await ddb.send(new DeleteCommand({ TableName: table(), Key: key(tenant, id) }));
}

/** Claims the nightly backup of `tenant` for `day`; false when this night's backup was already started. */
export async function claimNight(tenant: string, day: string): Promise<boolean> {
  try {
    await ddb.send(
      new PutCommand({
        TableName: table(),
        Item: {
          PK: K.nightlyPk(tenant, day),
          SK: K.nightlySk(),
          entity: "backup-night",
          expiresAt: Math.floor(Date.now() / 1000) + 40 * 86400,
        },
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

export async function releaseNight(tenant: string, day: string): Promise<void> {
  await ddb.send(new DeleteCommand({ TableName: table(), Key: { PK: K.nightlyPk(tenant, day), SK: K.nightlySk() } }));
}

// ---- the tenant's raw items ----------------------------------------------------------------------------------------

/**
 * One page of one segment of a parallel Scan for the items whose PK starts with `prefix`. A filtered Scan reads (and
 * is billed for) the whole table, not just the tenant's items: see README "Backups and restores" for why it is still
 * the choice.
 */
export async function scanPrefixPage(
  prefix: string,
  segment: number,
  totalSegments: number,
  start: RawItem | undefined,
  limit: number,
): Promise<{ items: RawItem[]; next: RawItem | undefined }> {
  const res = await dynamo.send(
    new ScanCommand({
      TableName: table(),
      Segment: segment,
      TotalSegments: totalSegments,
      ExclusiveStartKey: start,
      Limit: limit,
      ConsistentRead: true,
      FilterExpression: "begins_with(PK, :p)",
      ExpressionAttributeValues: { ":p": { S: prefix } },
    }),
  );
  return { items: res.Items ?? [], next: res.LastEvaluatedKey };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** BatchWriteItem in groups of 25, retrying unprocessed requests with backoff. */
async function batchWrite(requests: WriteRequest[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending: WriteRequest[] = requests.slice(i, i + 25);
    for (let attempt = 0; pending.length; attempt++) {
      if (attempt > 0) await sleep(Math.min(2000, 50 * 2 ** attempt));
      const res = await dynamo.send(new BatchWriteItemCommand({ RequestItems: { [table()]: pending } }));
      pending = res.UnprocessedItems?.[table()] ?? [];
      if (attempt > 10 && pending.length) throw new Error("batch write kept returning unprocessed items");
    }
  }
}

/** Writes raw items as they are (a restore; idempotent: the same item written twice is the same item). */
export async function putRawItems(items: readonly RawItem[], parallel = 4): Promise<void> {
  const groups = chunked(items, Math.ceil(items.length / parallel) || 1);
  await Promise.all(groups.map((g) => batchWrite(g.map((Item) => ({ PutRequest: { Item } })))));
}

/** Deletes items by their PK/SK. */
export async function deleteRawKeys(items: readonly RawItem[], parallel = 4): Promise<void> {
  const groups = chunked(items, Math.ceil(items.length / parallel) || 1);
  await Promise.all(
    groups.map((g) => batchWrite(g.map((it) => ({ DeleteRequest: { Key: { PK: it.PK!, SK: it.SK! } } })))),
  );
}

/** Reads items by their PK/SK (strongly consistent); the result maps keyId -> item, absent ones left out. */
export async function getRawItems(keys: readonly RawItem[]): Promise<Map<string, RawItem>> {
  const out = new Map<string, RawItem>();
  for (let i = 0; i < keys.length; i += 100) {
    let pending = keys.slice(i, i + 100).map((k) => ({ PK: k.PK!, SK: k.SK! }));
    for (let attempt = 0; pending.length; attempt++) {
      if (attempt > 0) await sleep(Math.min(2000, 50 * 2 ** attempt));
      const res = await dynamo.send(
        new BatchGetItemCommand({ RequestItems: { [table()]: { Keys: pending, ConsistentRead: true } } }),
      );
      for (const it of res.Responses?.[table()] ?? []) out.set(keyId(it), it);
      pending = (res.UnprocessedKeys?.[table()]?.Keys ?? []) as typeof pending;
      if (attempt > 10 && pending.length) throw new Error("batch get kept returning unprocessed keys");
    }
  }
  return out;
}

function chunked<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

// ---- a restore job's state ----------------------------------------------------------------------------------------

export interface RestoreState {
  phase: "chunks" | "sweep" | "done";
  /** Replace's sweep: scan position per segment. */
  sweep?: (RawItem | null | "done")[];
  deleted?: number;
  /** A drill's chunks handled so far and its report so far. */
  done?: string[];
  report?: DrillReport;
  seq: number;
}

export async function getRestoreState(tenant: string, jobId: string): Promise<RestoreState> {
  const res = await ddb.send(
    new GetCommand({
      TableName: table(),
      Key: { PK: K.restoreStatePk(tenant, jobId), SK: K.restoreStateSk() },
      ConsistentRead: true,
    }),
  );
  if (!res.Item) return { phase: "chunks", seq: 0 };
  return JSON.parse(res.Item.state as string) as RestoreState;
}

/** Saves a restore job's state, conditional on the sequence number it was read with. */
export async function saveRestoreState(tenant: string, jobId: string, state: RestoreState): Promise<void> {
  const next = { ...state, seq: state.seq + 1 };
  try {
    await ddb.send(
      new PutCommand({
        TableName: table(),
        Item: {
          PK: K.restoreStatePk(tenant, jobId),
          SK: K.restoreStateSk(),
          entity: "restore-state",
          state: JSON.stringify(next),
          seq: next.seq,
          expiresAt: Math.floor(Date.now() / 1000) + 30 * 86400,
        },
        ConditionExpression: state.seq === 0 ? "attribute_not_exists(PK)" : "seq = :seq",
        ...(state.seq === 0 ? {} : { ExpressionAttributeValues: { ":seq": state.seq } }),
      }),
    );
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) throw new BackupStateMovedError(`restore ${jobId} moved on`);
    throw err;
  }
  state.seq = next.seq;
}

// ---- objects ------------------------------------------------------------------------------------------------

/** A presigned GET of one object, valid for `seconds`. */
export async function downloadUrl(objectKey: string, seconds: number): Promise<string> {
  return getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket(), Key: objectKey }), { expiresIn: seconds });
}

export async function putObject(objectKey: string, body: Buffer | string, contentType: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket(), Key: objectKey, Body: body, ContentType: contentType }));
}

export async function getObjectBytes(objectKey: string): Promise<Uint8Array> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket(), Key: objectKey }));
  return res.Body!.transformToByteArray();
}

/** Deletes every object of one backup. */
export async function deleteBackupObjects(tenant: string, id: string): Promise<void> {
  const prefix = O.prefix(tenant, id);
  let token: string | undefined;
  do {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: prefix, ContinuationToken: token }));
    // One DeleteObject each: a backup has few objects, and s3rver does not take DeleteObjects without Content-MD5.
    await Promise.all(
      (res.Contents ?? []).map((o) => s3.send(new DeleteObjectCommand({ Bucket: bucket(), Key: o.Key! }))),
    );
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
}

// ---- one customer's children (point-in-time restore) --------------------------------------------------------------

/** The children a customer's point-in-time restore rewinds, with the sort key each lives under. */
export const CHILD_SK = {
  contact: (id: string) => customerKeys.contactSk(id),
  order: (id: string) => orderKeys.sk(id),
  interaction: (id: string) => interactionKeys.sk(id),
} as const;
export type ChildKind = keyof typeof CHILD_SK;

/**
 * The transaction items that put one child back as `after` (conditional on the live item still being at
 * `liveVersion`, or absent when undefined) or delete it (`after` null), with an order's id pointer.
 */
export function childWrite(
  tenant: string,
  customerId: string,
  kind: ChildKind,
  id: string,
  after: Record<string, unknown> | null,
  liveVersion: number | undefined,
): GuardedItem[] {
  const Key = { PK: customerKeys.pk(tenant, customerId), SK: CHILD_SK[kind](id) };
  const guard =
    liveVersion === undefined
      ? { ConditionExpression: "attribute_not_exists(PK)" }
      : { ConditionExpression: "version = :v", ExpressionAttributeValues: { ":v": liveVersion } };
  const moved = () => new ConflictError(`${kind} ${id} changed while the customer was being restored; try again`);
  const ref = { PK: orderKeys.refPk(tenant, id), SK: orderKeys.refSk() };
  if (!after) {
    return [
      { item: { Delete: { TableName: table(), Key, ...guard } }, onConditionFailed: moved },
      ...(kind === "order" ? [{ item: { Delete: { TableName: table(), Key: ref } } }] : []),
    ];
  }
  const Item =
    kind === "order" ? orderItem(tenant, after as unknown as OrderRecord) : { ...Key, entity: kind, ...after };
  return [
    { item: { Put: { TableName: table(), Item, ...guard } }, onConditionFailed: moved },
    ...(kind === "order" && liveVersion === undefined
      ? [{ item: { Put: { TableName: table(), Item: { ...ref, entity: "order-ref", customerId } } } }]
      : []),
  ];
}

/**
 * One UpdateItem of the customer's profile: counters in `stats` move by `add`, fields of `stats` are set or removed
 * (null), and top-level fields likewise; conditional on the customer being live.
 */
export function profileDerived(
  tenant: string,
  customerId: string,
  change: { add?: Record<string, number>; stats?: Record<string, unknown>; top?: Record<string, unknown> },
): GuardedItem | undefined {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const adds: string[] = [];
  const sets: string[] = [];
  const removes: string[] = [];
  let n = 0;
  const path = (inStats: boolean, k: string) => {
    names[`#f${n}`] = k;
    if (inStats) names["#st"] = "stats";
    return inStats ? `#st.#f${n}` : `#f${n}`;
  };
  for (const [k, v] of Object.entries(change.add ?? {})) {
    if (v === 0) continue;
    adds.push(`${path(true, k)} :v${n}`);
    values[`:v${n++}`] = v;
  }
  for (const [inStats, fields] of [
    [true, change.stats ?? {}],
    [false, change.top ?? {}],
  ] as const) {
    for (const [k, v] of Object.entries(fields)) {
      if (v === null || v === undefined) removes.push(path(inStats, k));
      else {
        sets.push(`${path(inStats, k)} = :v${n}`);
        values[`:v${n}`] = v;
      }
      n++;
    }
  }
  if (!adds.length && !sets.length && !removes.length) return undefined;
  const expr = [
    sets.length ? `SET ${sets.join(", ")}` : "",
    removes.length ? `REMOVE ${removes.join(", ")}` : "",
    adds.length ? `ADD ${adds.join(", ")}` : "",
  ].join(" ");
  return {
    item: {
      Update: {
        TableName: table(),
        Key: { PK: customerKeys.pk(tenant, customerId), SK: customerKeys.profileSk() },
        UpdateExpression: expr.trim(),
        ConditionExpression: "attribute_exists(PK) AND attribute_not_exists(deletedAt)",
        ExpressionAttributeNames: names,
        ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
      },
    },
    onConditionFailed: () => new ConflictError(`customer ${customerId} was deleted while it was being restored`),
  };
}
