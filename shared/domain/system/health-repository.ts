// System health signals (schedule heartbeats, pings, S3 drops) kept in the table so the whole chain can be checked.
// Keys of these items are built here and nowhere else: PK `SYS#HEALTH`, SK `<kind>`.
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { ddb } from "../../db/client.ts";

export const HEALTH_KINDS = ["heartbeat", "ping", "s3", "s3-test"] as const;
export type HealthKind = (typeof HEALTH_KINDS)[number];

export interface HealthSignal {
  kind: HealthKind;
  /** Identifies the event; the same id recorded twice in a row counts once (redelivery is not a new signal). */
  eventId: string;
  /** What the latest signal carried, e.g. { key } of an S3 object or { scheduledAt } of a tick. */
  detail: Record<string, string | number>;
}

export interface HealthItem {
  kind: HealthKind;
  count: number;
  lastSeenAt: string;
  lastEventId: string;
  detail: Record<string, string | number>;
  createdAt: string;
  updatedAt: string;
  version: number;
}

const healthKey = (kind: HealthKind) => ({ PK: "SYS#HEALTH", SK: kind });

/** Counts one signal (ADD) and keeps its time and detail; "duplicate" when it repeats the last recorded event. */
export async function recordHealthSignal(signal: HealthSignal, now = new Date()): Promise<"recorded" | "duplicate"> {
  const at = now.toISOString();
  try {
    await ddb.send(
      new UpdateCommand({
        TableName: env.TABLE_NAME,
        Key: healthKey(signal.kind),
        UpdateExpression:
          "ADD #count :one, #version :one SET #entity = :entity, #kind = :kind, #lastSeenAt = :at, #updatedAt = :at, " +
          "#createdAt = if_not_exists(#createdAt, :at), #lastEventId = :eventId, #detail = :detail",
        ConditionExpression: "attribute_not_exists(#lastEventId) OR #lastEventId <> :eventId",
        ExpressionAttributeNames: {
          "#count": "count",
          "#version": "version",
          "#entity": "entity",
          "#kind": "kind",
          "#lastSeenAt": "lastSeenAt",
          "#updatedAt": "updatedAt",
          "#createdAt": "createdAt",
          "#lastEventId": "lastEventId",
          "#detail": "detail",
        },
        ExpressionAttributeValues: {
          ":one": 1,
          ":entity": "health",
          ":kind": signal.kind,
          ":at": at,
          ":eventId": signal.eventId,
          ":detail": signal.detail,
        },
      }),
    );
    return "recorded";
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return "duplicate";
    throw err;
  }
}

/** The health item of one kind, or undefined when no such signal was ever recorded. */
export async function getHealth(kind: HealthKind): Promise<HealthItem | undefined> {
  const out = await ddb.send(new GetCommand({ TableName: env.TABLE_NAME, Key: healthKey(kind), ConsistentRead: true }));
  if (!out.Item) return undefined;
  const { PK: _pk, SK: _sk, entity: _entity, ...rest } = out.Item;
  return rest as HealthItem;
}
