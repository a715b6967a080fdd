// DynamoDB access for contacts: items in their customer's collection, written together with the customer's
// contact counter and primary-contact pointer.
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../../config/env.ts";
import { queryPrefixPage } from "../../db/query.ts";
import { ddb } from "../../db/client.ts";
import { type GuardedItem, transact } from "../../db/transact.ts";
import { ConflictError } from "../../http/errors.ts";
import { customerKeys as K } from "../customers/keys.ts";
import { isInternalAttr } from "../customers/repository.ts";
import { replanMarker } from "../reminders/repository.ts";
import { birthdayMonthDay, type Contact } from "./schemas.ts";

const table = () => env.TABLE_NAME;

/** The API view of a stored contact: keys, index keys and the import's idempotency marker left out. */
export function toContact(item: Record<string, unknown>): Contact {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!isInternalAttr(k)) out[k] = v;
  return out as Contact;
}

/** The contact's row in the birthday index (GSI3), or nothing without a birthday. */
export function birthdayIndex(tenant: string, c: Pick<Contact, "id" | "birthday">): Record<string, string> {
  if (!c.birthday) return {};
  return {
    GSI3PK: K.birthdayPk(tenant, K.shard(c.id, env.LIST_SHARDS)),
    GSI3SK: K.birthdaySk(birthdayMonthDay(c.birthday), c.id),
  };
}

/** The stored item of a contact: its keys, entity and birthday-index row. */
export function contactItem(tenant: string, c: Contact): Record<string, unknown> {
  return {
    PK: K.pk(tenant, c.customerId),
    SK: K.contactSk(c.id),
    entity: "contact",
    ...c,
    ...birthdayIndex(tenant, c),
  };
}

/**
 * A birthday set or changed: the customer gets a replan marker, so a birthday that is already inside a rule's
 * reminder window (which the rule's daily range has passed) is reminded on the next tick.
 */
const birthdayReplan = (tenant: string, before: Contact | undefined, after: Contact): GuardedItem[] =>
  after.birthday && after.birthday !== before?.birthday
    ? [replanMarker(tenant, after.customerId, after.updatedAt)]
    : [];

export async function getContact(tenant: string, customerId: string, id: string): Promise<Contact | undefined> {
  const res = await ddb.send(
    new GetCommand({
      TableName: table(),
      Key: { PK: K.pk(tenant, customerId), SK: K.contactSk(id) },
      ConsistentRead: true,
    }),
  );
  return res.Item ? toContact(res.Item) : undefined;
}

export async function queryContacts(
  tenant: string,
  customerId: string,
  limit: number,
  start: Record<string, unknown> | undefined,
) {
  const page = await queryPrefixPage({ pk: K.pk(tenant, customerId), prefix: K.contactPrefix(), limit, start });
  return { items: page.items.map(toContact), state: page.state };
}

const contactStale = (id: string) => () =>
  new ConflictError(`contact ${id} was changed by someone else; read it again and retry with the new version`);

/** The profile update that keeps the contact counter and the primary pointer, conditional on the customer being live. */
function profileUpdate(
  tenant: string,
  customerId: string,
  change: { countDelta: number; primary?: { from: string | undefined; to: string | null } },
): GuardedItem {
  const values: Record<string, unknown> = { ":d": change.countDelta };
  let expr = "ADD stats.contactCount :d";
  let cond = "attribute_exists(PK) AND attribute_not_exists(deletedAt)";
  if (change.primary) {
    expr = change.primary.to ? `SET primaryContactId = :to ${expr}` : `REMOVE primaryContactId ${expr}`;
    if (change.primary.to) values[":to"] = change.primary.to;
    if (change.primary.from) {
      cond += " AND primaryContactId = :from";
      values[":from"] = change.primary.from;
    } else {
      cond += " AND attribute_not_exists(primaryContactId)";
    }
  }
  return {
    item: {
      Update: {
        TableName: table(),
        Key: { PK: K.pk(tenant, customerId), SK: K.profileSk() },
        UpdateExpression: expr,
        ConditionExpression: cond,
        ExpressionAttributeValues: values,
      },
    },
    onConditionFailed: () =>
      new ConflictError("the customer changed meanwhile (deleted, or its primary contact changed); try again"),
  };
}

/** Clears the primary flag of the contact that had it. */
function demote(tenant: string, customerId: string, contactId: string, at: string, by: string): GuardedItem {
  return {
    item: {
      Update: {
        TableName: table(),
        Key: { PK: K.pk(tenant, customerId), SK: K.contactSk(contactId) },
        UpdateExpression: "SET isPrimary = :f, updatedAt = :at, updatedBy = :by ADD version :one",
        ConditionExpression: "attribute_exists(PK) AND isPrimary = :t",
        ExpressionAttributeValues: { ":f": false, ":t": true, ":at": at, ":by": by, ":one": 1 },
      },
    },
    onConditionFailed: () => new ConflictError("the primary contact changed meanwhile; try again"),
  };
}

export interface PrimaryChange {
  /** The customer's primary contact id as read. */
  from: string | undefined;
  /** The new primary contact, or null to clear it. */
  to: string | null;
}

export async function insertContact(
  tenant: string,
  c: Contact,
  primary: PrimaryChange | undefined,
  extras: GuardedItem[],
) {
  await transact(
    contactBatchItems(tenant, { customerId: c.customerId, writes: [{ after: c }], ...primaryMove(primary, c) }, extras),
  );
}

export async function replaceContact(
  tenant: string,
  before: Contact,
  after: Contact,
  primary: PrimaryChange | undefined,
  extras: GuardedItem[],
) {
  await transact(
    contactBatchItems(
      tenant,
      { customerId: after.customerId, writes: [{ before, after }], ...primaryMove(primary, after) },
      extras,
    ),
  );
}

/** A single contact's primary change: the pointer's move, and the demotion of the contact that held the role. */
function primaryMove(primary: PrimaryChange | undefined, c: Contact): Pick<ContactBatch, "primary" | "demote"> {
  if (!primary) return {};
  const demote =
    primary.from && primary.from !== c.id ? { id: primary.from, at: c.updatedAt, by: c.updatedBy } : undefined;
  return demote ? { primary, demote } : { primary };
}

export async function removeContact(
  tenant: string,
  before: Contact,
  primary: PrimaryChange | undefined,
  extras: GuardedItem[],
) {
  await transact([
    {
      item: {
        Delete: {
          TableName: table(),
          Key: { PK: K.pk(tenant, before.customerId), SK: K.contactSk(before.id) },
          ConditionExpression: "version = :v",
          ExpressionAttributeValues: { ":v": before.version },
        },
      },
      onConditionFailed: contactStale(before.id),
    },
    profileUpdate(tenant, before.customerId, { countDelta: -1, primary }),
    ...extras,
  ]);
}

/** Contacts of one customer written together (an import chunk's rows of that customer). */
export interface ContactBatch {
  customerId: string;
  /** Each contact's stored form after the write, with its stored form before (undefined for a new contact). */
  writes: { before?: Contact; after: Contact }[];
  /** The primary pointer's move, when one of the writes takes the primary role. */
  primary?: PrimaryChange;
  /** The contact that held the primary role and is not among `writes`: its flag is cleared. */
  demote?: { id: string; at: string; by: string };
}

/**
 * The transaction items of a {@link ContactBatch}: the items `insertContact` and `replaceContact` write for each
 * contact (new ones `attribute_not_exists(PK)`, changed ones conditional on their version), but one profile update for
 * all of them (the counter moved by the number of new contacts, the primary pointer once), one demotion, one replan
 * marker. `extras` (the audit entries) are added as they are.
 */
export function contactBatchItems(tenant: string, b: ContactBatch, extras: GuardedItem[]): GuardedItem[] {
  const items: GuardedItem[] = [];
  for (const { before, after } of b.writes) {
    items.push({
      item: {
        Put: {
          TableName: table(),
          Item: contactItem(tenant, after),
          ...(before
            ? { ConditionExpression: "version = :v", ExpressionAttributeValues: { ":v": before.version } }
            : { ConditionExpression: "attribute_not_exists(PK)" }),
        },
      },
      onConditionFailed: before
        ? contactStale(before.id)
        : () => new ConflictError(`contact ${after.id} already exists`),
    });
  }
  const added = b.writes.filter((w) => !w.before).length;
  if (added || b.primary) items.push(profileUpdate(tenant, b.customerId, { countDelta: added, primary: b.primary }));
  if (b.demote) items.push(demote(tenant, b.customerId, b.demote.id, b.demote.at, b.demote.by));
  const replan = b.writes.find((w) => birthdayReplan(tenant, w.before, w.after).length);
  if (replan) items.push(...birthdayReplan(tenant, replan.before, replan.after));
  items.push(...extras);
  return items;
}
