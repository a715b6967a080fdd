// Unit tests for the contact use cases: one transaction that writes the contact, keeps the customer's contact counter
// and primary pointer, and demotes the previous primary contact; optimistic locking and role checks.
import {
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { newId } from "../../../shared/db/ids.ts";
import { auditKeys } from "../../../shared/domain/audit/audit.ts";
import { ContactCreateSchema, ContactPatchSchema, type Contact } from "../../../shared/domain/contacts/schemas.ts";
import { createContact, deleteContact, patchContact } from "../../../shared/domain/contacts/service.ts";
import { customerKeys } from "../../../shared/domain/customers/keys.ts";
import { ConflictError, ForbiddenError, NotFoundError } from "../../../shared/http/errors.ts";
import { aCaller, aContact, aCustomerItem, type TransactItem } from "./support/builders.ts";
import { addsOf, removesOf, setsOf } from "./support/expressions.ts";
import { serveBatchGets } from "../../support/batch-get.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
/** Stores an item BatchGetItem serves (the viewer and the profile are read together). */
let serve: ReturnType<typeof serveBatchGets>;
/** Names of the commands sent other than reads (the viewer's own record is always read first). */
const writesSent = () =>
  ddbMock
    .calls()
    .map((c) => (c.args[0] as object).constructor.name)
    .filter((n) => !["BatchGetCommand", "GetCommand", "QueryCommand"].includes(n));

type Customer = ReturnType<typeof aCustomerItem>;

beforeEach(() => {
  ddbMock.reset();
  // No user record: the token's roles and department apply (the viewer is read before anything else).
  serve = serveBatchGets(ddbMock);
  ddbMock.on(GetCommand).resolves({});
  ddbMock.on(TransactWriteCommand).resolves({});
});

/** Serves the customer's profile and its contacts as stored. */
function stored(tenant: string, customer: Customer, contacts: Contact[] = []) {
  ddbMock
    .on(GetCommand, { Key: { PK: customerKeys.pk(tenant, customer.id), SK: customerKeys.profileSk() } })
    .resolves({ Item: customer });
  serve({ PK: customerKeys.pk(tenant, customer.id), SK: customerKeys.profileSk() }, customer);
  for (const c of contacts) {
    ddbMock
      .on(GetCommand, { Key: { PK: customerKeys.pk(tenant, customer.id), SK: customerKeys.contactSk(c.id) } })
      .resolves({
        Item: { PK: customerKeys.pk(tenant, customer.id), SK: customerKeys.contactSk(c.id), entity: "contact", ...c },
      });
  }
}

const theTransaction = (): TransactItem[] => {
  const calls = ddbMock.commandCalls(TransactWriteCommand);
  expect(calls).toHaveLength(1);
  return (calls[0]!.args[0].input as TransactWriteCommandInput).TransactItems!;
};

const updateOf = (items: TransactItem[], pk: string, sk: string) =>
  items.find((i) => i.Update?.Key?.PK === pk && i.Update.Key.SK === sk)?.Update;

describe("createContact", () => {
  it("makes a new primary contact and demotes the previous one in the same transaction", async () => {
    // Prepare
    const caller = aCaller();
    const oldPrimary = newId();
    const customer = aCustomerItem(caller.tenant, { primaryContactId: oldPrimary });
    stored(caller.tenant, customer);

    // Act
    const res = await createContact(
      caller,
      customer.id,
      ContactCreateSchema.parse({ name: "李雷", isPrimary: true }),
      undefined,
    );

    // Assess
    const contact = res.body as Contact;
    const items = theTransaction();
    const pk = customerKeys.pk(caller.tenant, customer.id);

    const put = items.find((i) => i.Put?.Item?.SK === customerKeys.contactSk(contact.id))?.Put;
    expect(put).toMatchObject({
      ConditionExpression: "attribute_not_exists(PK)",
      Item: { PK: pk, isPrimary: true, name: "李雷" },
    });

    const profile = updateOf(items, pk, customerKeys.profileSk())!;
    expect(setsOf(profile)).toEqual({ primaryContactId: contact.id });
    expect(addsOf(profile)).toEqual({ "stats.contactCount": 1 });
    expect(profile.ConditionExpression).toContain("primaryContactId = :from");
    expect(profile.ExpressionAttributeValues?.[":from"]).toBe(oldPrimary);
    expect(profile.ConditionExpression).toContain("attribute_not_exists(deletedAt)");

    const demoted = updateOf(items, pk, customerKeys.contactSk(oldPrimary))!;
    expect(setsOf(demoted)).toMatchObject({ isPrimary: false });
    expect(demoted.ConditionExpression).toContain("isPrimary = :t");

    expect(items.some((i) => i.Put?.Item?.PK === auditKeys.pk(caller.tenant, contact.id))).toBe(true);
  });

  it("makes the first primary contact on condition that the customer still has none", async () => {
    // Prepare
    const caller = aCaller();
    const customer = aCustomerItem(caller.tenant);
    stored(caller.tenant, customer);

    // Act
    await createContact(caller, customer.id, ContactCreateSchema.parse({ name: "李雷", isPrimary: true }), undefined);

    // Assess
    const items = theTransaction();
    const profile = updateOf(items, customerKeys.pk(caller.tenant, customer.id), customerKeys.profileSk())!;
    expect(profile.ConditionExpression).toContain("attribute_not_exists(primaryContactId)");
    expect(items.filter((i) => i.Update)).toHaveLength(1); // nobody to demote
  });

  it("adds a non-primary contact with only the counter moving on the profile", async () => {
    // Prepare
    const caller = aCaller();
    const customer = aCustomerItem(caller.tenant, { primaryContactId: newId() });
    stored(caller.tenant, customer);

    // Act
    await createContact(caller, customer.id, ContactCreateSchema.parse({ name: "韩梅梅" }), undefined);

    // Assess
    const items = theTransaction();
    const profile = updateOf(items, customerKeys.pk(caller.tenant, customer.id), customerKeys.profileSk())!;
    expect(addsOf(profile)).toEqual({ "stats.contactCount": 1 });
    expect(setsOf(profile)).toEqual({});
    expect(removesOf(profile)).toEqual([]);
    expect(items.filter((i) => i.Update)).toHaveLength(1);
  });

  it("answers 404 for a customer that does not exist, writing nothing", async () => {
    // Act
    const act = createContact(aCaller(), newId(), ContactCreateSchema.parse({ name: "李雷" }), undefined);

    // Assess
    await expect(act).rejects.toBeInstanceOf(NotFoundError);
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it("refuses a viewer with 403 and writes nothing", async () => {
    // Prepare
    const viewer = aCaller({ roles: ["viewer"] });
    const customer = aCustomerItem(viewer.tenant);
    stored(viewer.tenant, customer);

    // Act
    const act = createContact(viewer, customer.id, ContactCreateSchema.parse({ name: "李雷" }), undefined);

    // Assess
    await expect(act).rejects.toBeInstanceOf(ForbiddenError);
    expect(writesSent()).toEqual([]);
  });
});

describe("patchContact", () => {
  it("promotes a contact, demoting the previous primary, conditional on the pointer it read", async () => {
    // Prepare
    const caller = aCaller();
    const customer = aCustomerItem(caller.tenant);
    const old = aContact(customer.id, { isPrimary: true });
    const next = aContact(customer.id, { isPrimary: false, version: 3 });
    customer.primaryContactId = old.id;
    stored(caller.tenant, customer, [old, next]);

    // Act
    const after = await patchContact(caller, customer.id, next.id, ContactPatchSchema.parse({ isPrimary: true }), 3);

    // Assess
    const items = theTransaction();
    const pk = customerKeys.pk(caller.tenant, customer.id);
    const put = items.find((i) => i.Put?.Item?.SK === customerKeys.contactSk(next.id))!.Put!;
    expect(put.ConditionExpression).toBe("version = :v");
    expect(put.ExpressionAttributeValues).toEqual({ ":v": 3 });
    expect(put.Item).toMatchObject({ isPrimary: true, version: 4 });

    const profile = updateOf(items, pk, customerKeys.profileSk())!;
    expect(setsOf(profile)).toEqual({ primaryContactId: next.id });
    expect(profile.ExpressionAttributeValues?.[":from"]).toBe(old.id);
    expect(addsOf(profile)).toEqual({ "stats.contactCount": 0 });

    expect(updateOf(items, pk, customerKeys.contactSk(old.id))).toBeDefined();
    expect(after).toMatchObject({ isPrimary: true, version: 4 });
  });

  it("clears the customer's pointer when the primary contact stops being primary", async () => {
    // Prepare
    const caller = aCaller();
    const customer = aCustomerItem(caller.tenant);
    const primary = aContact(customer.id, { isPrimary: true });
    customer.primaryContactId = primary.id;
    stored(caller.tenant, customer, [primary]);

    // Act
    await patchContact(
      caller,
      customer.id,
      primary.id,
      ContactPatchSchema.parse({ isPrimary: false }),
      primary.version,
    );

    // Assess
    const items = theTransaction();
    const profile = updateOf(items, customerKeys.pk(caller.tenant, customer.id), customerKeys.profileSk())!;
    expect(removesOf(profile)).toEqual(["primaryContactId"]);
    expect(profile.ExpressionAttributeValues?.[":from"]).toBe(primary.id);
    expect(items.filter((i) => i.Update)).toHaveLength(1); // the contact itself is the Put, nobody else to demote
  });

  it("refuses a stale version with 409 and sends no transaction", async () => {
    // Prepare
    const caller = aCaller();
    const customer = aCustomerItem(caller.tenant);
    const contact = aContact(customer.id, { version: 5 });
    stored(caller.tenant, customer, [contact]);

    // Act
    const act = patchContact(caller, customer.id, contact.id, ContactPatchSchema.parse({ title: "CFO" }), 4);

    // Assess
    await expect(act).rejects.toBeInstanceOf(ConflictError);
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it("answers 404 for a contact the customer does not have", async () => {
    // Prepare
    const caller = aCaller();
    const customer = aCustomerItem(caller.tenant);
    stored(caller.tenant, customer);

    // Act / Assess
    await expect(
      patchContact(caller, customer.id, newId(), ContactPatchSchema.parse({ title: "CFO" }), 1),
    ).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("deleteContact", () => {
  it("deletes the primary contact, lowers the counter and clears the pointer it held", async () => {
    // Prepare
    const caller = aCaller();
    const customer = aCustomerItem(caller.tenant);
    const primary = aContact(customer.id, { isPrimary: true, version: 2 });
    customer.primaryContactId = primary.id;
    stored(caller.tenant, customer, [primary]);

    // Act
    await deleteContact(caller, customer.id, primary.id, undefined);

    // Assess
    const items = theTransaction();
    const pk = customerKeys.pk(caller.tenant, customer.id);
    const del = items.find((i) => i.Delete?.Key?.SK === customerKeys.contactSk(primary.id))!.Delete!;
    expect(del.ExpressionAttributeValues).toEqual({ ":v": 2 });
    const profile = updateOf(items, pk, customerKeys.profileSk())!;
    expect(addsOf(profile)).toEqual({ "stats.contactCount": -1 });
    expect(removesOf(profile)).toEqual(["primaryContactId"]);
    expect(profile.ExpressionAttributeValues?.[":from"]).toBe(primary.id);
  });

  it("refuses an If-Match that is not the current version with 409", async () => {
    // Prepare
    const caller = aCaller();
    const customer = aCustomerItem(caller.tenant);
    const contact = aContact(customer.id, { version: 2 });
    stored(caller.tenant, customer, [contact]);

    // Act / Assess
    await expect(deleteContact(caller, customer.id, contact.id, 1)).rejects.toBeInstanceOf(ConflictError);
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });
});
