// All DynamoDB access for interactions: the item in its customer's collection, written in one transaction with the
// customer's stats (UpdateItem ADD/SET on the profile's `stats` map) and its satisfaction rollup cell.
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { queryPrefixPage } from "../../db/query.ts";
import { ddb } from "../../db/client.ts";
import { type GuardedItem, transact } from "../../db/transact.ts";
import { ConflictError, ValidationError } from "../../http/errors.ts";
import { customerKeys } from "../customers/keys.ts";
import { activityIndex } from "../customers/repository.ts";
import { interactionKeys as K } from "./keys.ts";
import type { Dims, Interaction } from "./schemas.ts";
import { isZero, type Tally } from "./stats.ts";
import { toInteraction } from "./view.ts";

const table = () => env.TABLE_NAME;

/** The customer changed under the write (its lastInteractionAt moved, or it left): re-read and try again. */
export class ProfileMoved extends ConflictError {
  constructor() {
    super("the customer changed meanwhile; try again");
  }
}

export interface StoredInteraction {
  interaction: Interaction;
  dims: Dims;
}

export async function getInteraction(
  tenant: string,
  customerId: string,
  id: string,
): Promise<StoredInteraction | undefined> {
  const res = await ddb.send(
    new GetCommand({ TableName: table(), Key: { PK: K.pk(tenant, customerId), SK: K.sk(id) }, ConsistentRead: true }),
  );
  if (!res.Item) return undefined;
  return { interaction: toInteraction(res.Item), dims: res.Item.dims as Dims };
}

/** A customer's interactions, newest first. */
export async function queryInteractions(
  tenant: string,
  customerId: string,
  limit: number,
  start: Record<string, unknown> | undefined,
) {
  const page = await queryPrefixPage({
    pk: K.pk(tenant, customerId),
    prefix: K.prefix(),
    limit,
    start,
    newestFirst: true,
  });
  return { items: page.items.map(toInteraction), state: page.state };
}

/**
 * The profile's stats move by `delta`; with `last`, `stats.lastInteractionAt` is SET when `advance` (conditional on
 * the stored value being earlier) or left alone (conditional on it being at least `at`), so it only ever moves forward
 * whatever order interactions arrive in. Always conditional on the customer being live; never touches other fields.
 */
function profileStats(
  tenant: string,
  customerId: string,
  delta: Tally,
  last?: { at: string; advance: boolean },
): GuardedItem {
  const names: Record<string, string> = { "#st": "stats" };
  const values: Record<string, unknown> = {};
  const adds: string[] = [];
  const counters: [keyof Tally, string][] = [
    ["interactions", "interactionCount"],
    ["surveys", "surveyCount"],
    ["scoreSum", "surveyScoreSum"],
    ["openComplaints", "openComplaints"],
  ];
  for (const [k, attr] of counters) {
    if (delta[k] === 0) continue;
    names[`#${k}`] = attr;
    values[`:${k}`] = delta[k];
    adds.push(`#st.#${k} :${k}`);
  }
  let cond = "attribute_exists(PK) AND attribute_not_exists(deletedAt)";
  let set = "";
  if (last) {
    names["#li"] = "lastInteractionAt";
    values[":at"] = last.at;
    if (last.advance) {
      // The activity index (reminders' inactivity) moves with it.
      const act = activityIndex(tenant, customerId, last.at);
      values[":g3pk"] = act.GSI3PK;
      values[":g3sk"] = act.GSI3SK;
      set = "SET #st.#li = :at, GSI3PK = :g3pk, GSI3SK = :g3sk ";
      cond += " AND (attribute_not_exists(#st.#li) OR #st.#li < :at)";
    } else {
      cond += " AND #st.#li >= :at";
    }
  }
  return {
    item: {
      Update: {
        TableName: table(),
        Key: { PK: customerKeys.pk(tenant, customerId), SK: customerKeys.profileSk() },
        UpdateExpression: `${set}${adds.length ? `ADD ${adds.join(", ")}` : ""}`.trim(),
        ConditionExpression: cond,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    },
    onConditionFailed: () => new ProfileMoved(),
  };
}

/** The rollup cell of `dims` moves by `delta` (created on first use, with its dimensions as attributes). */
function rollupCell(tenant: string, dims: Dims, delta: Tally): GuardedItem {
  return {
    item: {
      Update: {
        TableName: table(),
        Key: { PK: K.rollupPk(tenant, dims.month), SK: K.rollupSk(dims) },
        UpdateExpression:
          "SET entity = :e, #month = :month, deptPath = :dp, ownerId = :o, #region = :r, industry = :i, #level = :l " +
          "ADD interactionCount :n, surveyCount :s, surveyScoreSum :ss, openComplaints :oc, resolvedComplaints :rc",
        ExpressionAttributeNames: { "#month": "month", "#region": "region", "#level": "level" },
        ExpressionAttributeValues: {
          ":e": "satisfaction-rollup",
          ":month": dims.month,
          ":dp": dims.deptPath,
          ":o": dims.ownerId,
          ":r": dims.region,
          ":i": dims.industry,
          ":l": dims.level,
          ":n": delta.interactions,
          ":s": delta.surveys,
          ":ss": delta.scoreSum,
          ":oc": delta.openComplaints,
          ":rc": delta.resolvedComplaints,
        },
      },
    },
  };
}

/** Records an interaction with its stats and rollup moves (and `extras`: audit, idempotency) in one transaction. */
export async function insertInteraction(
  tenant: string,
  i: Interaction,
  dims: Dims,
  delta: Tally,
  last: { at: string; advance: boolean },
  extras: GuardedItem[],
): Promise<void> {
  const items: GuardedItem[] = [
    {
      item: {
        Put: {
          TableName: table(),
          Item: { PK: K.pk(tenant, i.customerId), SK: K.sk(i.id), entity: "interaction", ...i, dims },
          ConditionExpression: "attribute_not_exists(PK)",
        },
      },
      onConditionFailed: () => new ConflictError(`interaction ${i.id} already exists`),
    },
    profileStats(tenant, i.customerId, delta, last),
    rollupCell(tenant, dims, delta),
    ...extras,
  ];
  if (i.contactId) {
    items.push({
      item: {
        ConditionCheck: {
          TableName: table(),
          Key: { PK: customerKeys.pk(tenant, i.customerId), SK: customerKeys.contactSk(i.contactId) },
          ConditionExpression: "attribute_exists(PK)",
        },
      },
      onConditionFailed: () =>
        new ValidationError("request body is invalid", [
          { path: "contactId", message: "not a contact of this customer" },
        ]),
    });
  }
  await transact(items);
}

/** Replaces an interaction if its version is still `before.version`, moving stats and rollups by `delta`. */
export async function replaceInteraction(
  tenant: string,
  before: Interaction,
  after: Interaction,
  dims: Dims,
  delta: Tally,
  extras: GuardedItem[],
): Promise<void> {
  const items: GuardedItem[] = [
    {
      item: {
        Put: {
          TableName: table(),
          Item: { PK: K.pk(tenant, after.customerId), SK: K.sk(after.id), entity: "interaction", ...after, dims },
          ConditionExpression: "version = :v",
          ExpressionAttributeValues: { ":v": before.version },
        },
      },
      onConditionFailed: () =>
        new ConflictError(`interaction ${before.id} was changed by someone else; read it again and retry`),
    },
    ...extras,
  ];
  if (!isZero(delta)) {
    items.push(profileStats(tenant, after.customerId, delta), rollupCell(tenant, dims, delta));
  }
  await transact(items);
}

/** Which rollup cells of a month a viewer's scope covers: a key prefix, or an owner (applied as a condition). */
export interface RollupScope {
  prefix?: string;
  ownerId?: string;
}

export interface RollupCell extends Dims {
  interactionCount: number;
  surveyCount: number;
  surveyScoreSum: number;
  openComplaints: number;
  resolvedComplaints: number;
}

/** The rollup cells of one month within a scope: one Query (continued past 1 MB), never a Scan. */
export async function queryRollups(tenant: string, month: string, scope: RollupScope): Promise<RollupCell[]> {
  const out: RollupCell[] = [];
  let start: Record<string, unknown> | undefined;
  const values: Record<string, unknown> = { ":pk": K.rollupPk(tenant, month) };
  let key = "PK = :pk";
  if (scope.prefix !== undefined) {
    key += " AND begins_with(SK, :pre)";
    values[":pre"] = scope.prefix;
  }
  if (scope.ownerId !== undefined) values[":o"] = scope.ownerId;
  do {
    const res = await ddb.send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: key,
        FilterExpression: scope.ownerId !== undefined ? "ownerId = :o" : undefined,
        ExpressionAttributeValues: values,
        ExclusiveStartKey: start,
      }),
    );
    out.push(...((res.Items ?? []) as RollupCell[]));
    start = res.LastEvaluatedKey;
  } while (start);
  return out;
}
