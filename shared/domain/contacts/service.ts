// Contact use cases: a customer's contacts, with at most one primary contact, audited like every write.
// adapter --> (use case) --> domain & repositories
import type { Caller } from "../../auth/claims.ts";
import { decodeCursor, encodeCursor } from "../../db/cursor.ts";
import { newId } from "../../db/ids.ts";
import { ConflictError, NotFoundError } from "../../http/errors.ts";
import { auditPut } from "../audit/audit.ts";
import { visibleCustomer } from "../customers/service.ts";
import { maskRecord } from "../org/masking.ts";
import { guardSensitive } from "../org/sensitive.ts";
import { requireWrite, type Viewer } from "../org/viewer.ts";
import { type IdempotencyContext, once } from "../idempotency/idempotency.ts";
import {
  getContact,
  insertContact,
  type PrimaryChange,
  queryContacts,
  removeContact,
  replaceContact,
} from "./repository.ts";
import type { Contact, ContactCreate, ContactPatch } from "./schemas.ts";

const image = (c: Contact) => ({ ...c }) as Record<string, unknown>;

/** The contact as this viewer may see it. */
const show = (v: Viewer, c: Contact): Contact => maskRecord(c, v.perms.viewSensitive);

export async function createContact(
  caller: Caller,
  customerId: string,
  input: ContactCreate,
  idem: IdempotencyContext | undefined,
  requestId?: string,
) {
  const { v, customer } = await visibleCustomer(caller, customerId);
  requireWrite(v);
  guardSensitive(v, input, undefined);
  return once(idem, async (record) => {
    const at = new Date().toISOString();
    const contact: Contact = {
      id: newId(),
      customerId,
      ...input,
      version: 1,
      createdAt: at,
      updatedAt: at,
      createdBy: caller.userId,
      updatedBy: caller.userId,
    };
    const primary: PrimaryChange | undefined = input.isPrimary
      ? { from: customer.primaryContactId, to: contact.id }
      : undefined;
    const result = { status: 201, body: show(v, contact) };
    await insertContact(
      caller.tenant,
      contact,
      primary,
      [
        record(result),
        auditPut(caller.tenant, {
          at,
          actor: caller.userId,
          action: "create",
          entityType: "contact",
          entityId: contact.id,
          parentId: customerId,
          before: null,
          after: image(contact),
          requestId,
        }),
      ].filter((x) => x !== undefined),
    );
    return result;
  });
}

export async function getContactOf(caller: Caller, customerId: string, id: string): Promise<Contact> {
  const { v } = await visibleCustomer(caller, customerId);
  const c = await getContact(caller.tenant, customerId, id);
  if (!c) throw new NotFoundError(`contact ${id} not found`);
  return show(v, c);
}

export async function listContacts(caller: Caller, customerId: string, limit: number, cursor: string | undefined) {
  const { v } = await visibleCustomer(caller, customerId);
  const scope = JSON.stringify(["contacts", customerId]);
  const start = decodeCursor<Record<string, unknown>>(caller.tenant, scope, cursor);
  const page = await queryContacts(caller.tenant, customerId, limit, start);
  return {
    items: page.items.map((c) => show(v, c)),
    nextCursor: page.state ? encodeCursor(caller.tenant, scope, page.state) : null,
  };
}

export async function patchContact(
  caller: Caller,
  customerId: string,
  id: string,
  patch: ContactPatch,
  expected: number,
  requestId?: string,
): Promise<Contact> {
  const { v, customer } = await visibleCustomer(caller, customerId);
  requireWrite(v);
  const before = await getContact(caller.tenant, customerId, id);
  if (!before) throw new NotFoundError(`contact ${id} not found`);
  if (before.version !== expected) {
    throw new ConflictError(`contact ${id} is at version ${before.version}, not ${expected}; read it again`);
  }
  const { version: _v, ...fields } = guardSensitive(v, patch, before);
  const after: Record<string, unknown> = { ...before };
  for (const [k, v] of Object.entries(fields)) {
    if (v === null) delete after[k];
    else if (v !== undefined) after[k] = v;
  }
  const unchanged = JSON.stringify({ ...after }) === JSON.stringify({ ...before });
  if (unchanged) return show(v, before);
  const at = new Date().toISOString();
  Object.assign(after, { version: before.version + 1, updatedAt: at, updatedBy: caller.userId });
  let primary: PrimaryChange | undefined;
  if (after.isPrimary && !before.isPrimary) primary = { from: customer.primaryContactId, to: id };
  if (!after.isPrimary && before.isPrimary) primary = { from: customer.primaryContactId, to: null };
  await replaceContact(caller.tenant, before, after as Contact, primary, [
    auditPut(caller.tenant, {
      at,
      actor: caller.userId,
      action: "update",
      entityType: "contact",
      entityId: id,
      parentId: customerId,
      before: image(before),
      after,
      requestId,
    }),
  ]);
  return show(v, after as Contact);
}

export async function deleteContact(
  caller: Caller,
  customerId: string,
  id: string,
  expected: number | undefined,
  requestId?: string,
): Promise<void> {
  const { v, customer } = await visibleCustomer(caller, customerId);
  requireWrite(v);
  const before = await getContact(caller.tenant, customerId, id);
  if (!before) throw new NotFoundError(`contact ${id} not found`);
  if (expected !== undefined && before.version !== expected) {
    throw new ConflictError(`contact ${id} is at version ${before.version}, not ${expected}`);
  }
  const primary: PrimaryChange | undefined = customer.primaryContactId === id ? { from: id, to: null } : undefined;
  await removeContact(caller.tenant, before, primary, [
    auditPut(caller.tenant, {
      at: new Date().toISOString(),
      actor: caller.userId,
      action: "delete",
      entityType: "contact",
      entityId: id,
      parentId: customerId,
      before: image(before),
      after: null,
      requestId,
    }),
  ]);
}
