// Unit tests for the customer use cases against a mocked DynamoDB: the create transaction, auto numbering, guards,
// optimistic locking and minimal updates, and role checks that come before any database call.
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { auditKeys } from "../../../shared/domain/audit/audit.ts";
import { customerKeys } from "../../../shared/domain/customers/keys.ts";
import {
  type CustomerCreate,
  CustomerCreateSchema,
  CustomerPatchSchema,
} from "../../../shared/domain/customers/schemas.ts";
import { createCustomer, patchCustomer } from "../../../shared/domain/customers/service.ts";
import { settingsKeys } from "../../../shared/domain/settings/settings.ts";
import { searchTokens } from "../../../shared/domain/validation/index.ts";
import { ConflictError, ForbiddenError, NotFoundError } from "../../../shared/http/errors.ts";
import { aCaller, aCustomerItem, cancelWhere, partitionKeysOf, type TransactItem } from "./support/builders.ts";
import { removesOf, setsOf, touchedOf } from "./support/expressions.ts";
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

/** A published, valid unified social credit code. */
const USCC = "91350100M000100Y43";
const NAME = "杭州西湖贸易有限公司";

/** Create input as the HTTP layer hands it over: parsed by the real schema, defaults applied. */
const aCreateInput = (overrides: Record<string, unknown> = {}): CustomerCreate =>
  CustomerCreateSchema.parse({ name: NAME, ...overrides });

const transactions = (): TransactItem[][] =>
  ddbMock.commandCalls(TransactWriteCommand).map((c) => (c.args[0].input as TransactWriteCommandInput).TransactItems!);

const putsTo = (items: TransactItem[], pk: string) => items.filter((i) => i.Put?.Item?.PK === pk).map((i) => i.Put!);
const isCodeGuard = (tenant: string, code: string) => (i: TransactItem) =>
  i.Put?.Item?.PK === customerKeys.codeGuardPk(tenant, code);
const isAnyCodeGuard = (i: TransactItem) =>
  i.Put?.Item?.entity === "guard" && String(i.Put.Item.PK).includes("#CUSTCODE#");

beforeEach(() => {
  ddbMock.reset();
  // No user record: the token's roles and department apply (the viewer is read before anything else).
  serve = serveBatchGets(ddbMock);
  ddbMock.on(GetCommand).resolves({}); // no settings saved: the default pattern and time zone apply
  ddbMock.on(UpdateCommand).resolves({ Attributes: { seq: 1 } });
  ddbMock.on(TransactWriteCommand).resolves({});
});

afterEach(() => {
  vi.useRealTimers();
});

describe("createCustomer", () => {
  it("writes profile, code guard, USCC guard, search tokens and audit entry in one transaction", async () => {
    // Prepare
    const caller = aCaller();
    const T = caller.tenant;

    // Act
    const res = await createCustomer(caller, aCreateInput({ code: "KH-001", uscc: USCC }), undefined);

    // Assess
    const id = (res.body as { id: string }).id;
    expect(res.status).toBe(201);
    const tx = transactions();
    expect(tx).toHaveLength(1);
    const items = tx[0]!;

    const [profile] = putsTo(items, customerKeys.pk(T, id)).filter((p) => p.Item!.SK === customerKeys.profileSk());
    expect(profile).toMatchObject({
      ConditionExpression: "attribute_not_exists(PK)",
      Item: { entity: "customer", id, code: "KH-001", name: NAME, uscc: USCC, version: 1, ownerId: caller.userId },
    });
    expect(putsTo(items, customerKeys.codeGuardPk(T, "KH-001"))).toEqual([
      expect.objectContaining({
        ConditionExpression: "attribute_not_exists(PK)",
        Item: expect.objectContaining({ customerId: id }),
      }),
    ]);
    expect(putsTo(items, customerKeys.usccGuardPk(T, USCC))).toEqual([
      expect.objectContaining({
        ConditionExpression: "attribute_not_exists(PK)",
        Item: expect.objectContaining({ customerId: id }),
      }),
    ]);

    const tokenSks = items.filter((i) => i.Put?.Item?.entity === "customer-search").map((i) => i.Put!.Item!.SK);
    expect(tokenSks.sort()).toEqual(searchTokens(NAME, "KH-001").map(customerKeys.searchSk).sort());
    // the pinyin initials of 杭州西湖贸易有限公司 (hang zhou xi hu mao yi you xian gong si) and the code are searchable
    expect(tokenSks).toEqual(
      expect.arrayContaining([customerKeys.searchSk("hzxhmyyxgs"), customerKeys.searchSk("kh-001")]),
    );

    expect(putsTo(items, auditKeys.pk(T, id))).toEqual([
      expect.objectContaining({
        Item: expect.objectContaining({ action: "create", entityType: "customer", actor: caller.userId }),
      }),
    ]);
  });

  it("keeps every key the transaction writes inside the caller's tenant", async () => {
    // Prepare
    const caller = aCaller();

    // Act
    await createCustomer(caller, aCreateInput({ uscc: USCC }), undefined);

    // Assess
    const keys = transactions()[0]!.flatMap(partitionKeysOf);
    expect(keys.length).toBeGreaterThan(5);
    for (const key of keys) expect(key.startsWith(`T#${caller.tenant}#`), key).toBe(true);
  });

  it("writes no USCC guard when no USCC is given", async () => {
    // Act
    await createCustomer(aCaller(), aCreateInput({ code: "KH-002" }), undefined);

    // Assess
    const guards = transactions()[0]!.filter((i) => i.Put?.Item?.entity === "guard");
    expect(guards).toHaveLength(1);
    expect(isAnyCodeGuard(guards[0]!)).toBe(true);
  });

  it("numbers an absent code from the tenant's counter, in the year as it is in Shanghai", async () => {
    // Prepare: 17:00 UTC on 31 December 2026 is already 1 January 2027 in Asia/Shanghai (the default zone)
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-12-31T17:00:00Z"));
    ddbMock.on(UpdateCommand).resolves({ Attributes: { seq: 42 } });
    const caller = aCaller();

    // Act
    const res = await createCustomer(caller, aCreateInput(), undefined);

    // Assess
    expect((res.body as { code: string }).code).toBe("C2027000042");
    const counter = ddbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(counter.Key).toEqual({ PK: settingsKeys.counterPk(caller.tenant, "CUSTCODE"), SK: "C2027{seq}" });
    expect(transactions()[0]!.some(isCodeGuard(caller.tenant, "C2027000042"))).toBe(true);
  });

  it("takes the next number when the auto-numbered code is already taken", async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-06-01T00:00:00Z"));
    ddbMock
      .on(UpdateCommand)
      .resolvesOnce({ Attributes: { seq: 42 } })
      .resolves({ Attributes: { seq: 43 } });
    ddbMock
      .on(TransactWriteCommand)
      .callsFakeOnce((input: TransactWriteCommandInput) => cancelWhere(input, isAnyCodeGuard))
      .resolves({});
    const caller = aCaller();

    // Act
    const res = await createCustomer(caller, aCreateInput(), undefined);

    // Assess
    expect((res.body as { code: string }).code).toBe("C2026000043");
    expect(ddbMock.commandCalls(UpdateCommand)).toHaveLength(2);
    const [first, second] = transactions();
    expect(first!.some(isCodeGuard(caller.tenant, "C2026000042"))).toBe(true);
    expect(second!.some(isCodeGuard(caller.tenant, "C2026000043"))).toBe(true);
  });

  it("refuses a code the client chose that is already taken with a 409 naming `code`", async () => {
    // Prepare
    ddbMock
      .on(TransactWriteCommand)
      .callsFake((input: TransactWriteCommandInput) => cancelWhere(input, isAnyCodeGuard));

    // Act
    const err = await createCustomer(aCaller(), aCreateInput({ code: "KH-001" }), undefined).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).errors).toEqual([{ path: "code", message: expect.stringContaining("KH-001") }]);
    expect(transactions()).toHaveLength(1);
    expect(ddbMock.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it("refuses a taken USCC with a 409 naming `uscc`, without trying another code", async () => {
    // Prepare
    const caller = aCaller();
    ddbMock
      .on(TransactWriteCommand)
      .callsFake((input: TransactWriteCommandInput) =>
        cancelWhere(input, (i) => i.Put?.Item?.PK === customerKeys.usccGuardPk(caller.tenant, USCC)),
      );

    // Act
    const err = await createCustomer(caller, aCreateInput({ uscc: USCC }), undefined).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).errors?.[0]?.path).toBe("uscc");
    expect(transactions()).toHaveLength(1);
  });

  it("gives up with a 409 when number after number is taken", async () => {
    // Prepare
    let seq = 0;
    ddbMock.on(UpdateCommand).callsFake(() => Promise.resolve({ Attributes: { seq: ++seq } }));
    ddbMock
      .on(TransactWriteCommand)
      .callsFake((input: TransactWriteCommandInput) => cancelWhere(input, isAnyCodeGuard));

    // Act
    const err = await createCustomer(aCaller(), aCreateInput(), undefined).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(ConflictError);
    expect(transactions().length).toBeGreaterThan(1);
    expect(transactions().length).toBeLessThanOrEqual(10);
  });

  it("refuses a viewer with 403 and writes nothing", async () => {
    // Act
    const act = createCustomer(aCaller({ roles: ["viewer"] }), aCreateInput(), undefined);

    // Assess
    await expect(act).rejects.toBeInstanceOf(ForbiddenError);
    expect(writesSent()).toEqual([]);
  });
});

describe("patchCustomer", () => {
  /** Serves `item` as the stored profile of its customer. */
  function stored(item: ReturnType<typeof aCustomerItem>) {
    ddbMock.on(GetCommand, { Key: { PK: item.PK as string, SK: customerKeys.profileSk() } }).resolves({ Item: item });
    serve({ PK: item.PK as string, SK: customerKeys.profileSk() }, item);
    return item;
  }

  const profileUpdate = () => {
    const items = transactions()[0]!;
    return items.find((i) => i.Update?.Key?.SK === customerKeys.profileSk())!.Update!;
  };

  it("reads the profile of the caller's own tenant", async () => {
    // Prepare
    const caller = aCaller();
    const item = stored(aCustomerItem(caller.tenant));

    // Act
    await patchCustomer(caller, item.id, CustomerPatchSchema.parse({ level: "A" }), item.version);

    // Assess
    // With the viewer's own records, in one strongly consistent BatchGetItem.
    const read = ddbMock.commandCalls(BatchGetCommand)[0]!.args[0].input.RequestItems!["unit-table"]!;
    expect(read.Keys).toContainEqual({ PK: customerKeys.pk(caller.tenant, item.id), SK: customerKeys.profileSk() });
    expect(read.ConsistentRead).toBe(true);
  });

  it("refuses a stale version with 409 and sends no transaction", async () => {
    // Prepare
    const caller = aCaller();
    const item = stored(aCustomerItem(caller.tenant, { version: 4 }));

    // Act
    const act = patchCustomer(caller, item.id, CustomerPatchSchema.parse({ level: "A" }), 3);

    // Assess
    await expect(act).rejects.toBeInstanceOf(ConflictError);
    expect(transactions()).toHaveLength(0);
  });

  it("sets only the changed fields, bumps the version, and leaves counters alone", async () => {
    // Prepare
    const caller = aCaller({ userId: "u-bob" });
    const item = stored(aCustomerItem(caller.tenant, { version: 4, industry: "retail" }));
    const patch = CustomerPatchSchema.parse({ name: item.name, industry: "steel", level: "A" });

    // Act
    const result = await patchCustomer(caller, item.id, patch, 4);

    // Assess
    const update = profileUpdate();
    const sets = setsOf(update);
    expect(sets).toMatchObject({ industry: "steel", level: "A", version: 5, updatedBy: "u-bob" });
    expect(sets).not.toHaveProperty("name");
    expect(touchedOf(update).filter((p) => p === "stats" || p.startsWith("stats."))).toEqual([]);
    expect(touchedOf(update)).not.toContain("createdAt");
    expect(update.ConditionExpression).toContain("version = :expected");
    expect(update.ExpressionAttributeValues?.[":expected"]).toBe(4);
    expect(result).toMatchObject({ industry: "steel", level: "A", version: 5, stats: item.stats });
  });

  it("clears a field sent as null with REMOVE", async () => {
    // Prepare
    const caller = aCaller();
    const item = stored(aCustomerItem(caller.tenant, { industry: "retail" }));

    // Act
    const result = await patchCustomer(caller, item.id, CustomerPatchSchema.parse({ industry: null }), item.version);

    // Assess
    expect(removesOf(profileUpdate())).toEqual(["industry"]);
    expect(result.industry).toBeUndefined();
  });

  it("writes nothing when the patch changes nothing", async () => {
    // Prepare
    const caller = aCaller();
    const item = stored(aCustomerItem(caller.tenant));

    // Act
    const result = await patchCustomer(caller, item.id, CustomerPatchSchema.parse({ name: item.name }), item.version);

    // Assess
    expect(transactions()).toHaveLength(0);
    expect(result.version).toBe(item.version);
  });

  it("moves the code guard from the old code to the new one in the same transaction", async () => {
    // Prepare
    const caller = aCaller();
    const item = stored(aCustomerItem(caller.tenant, { code: "KH-001" }));

    // Act
    await patchCustomer(caller, item.id, CustomerPatchSchema.parse({ code: "KH-900" }), item.version);

    // Assess
    const items = transactions()[0]!;
    const released = items.find((i) => i.Delete?.Key?.PK === customerKeys.codeGuardPk(caller.tenant, "KH-001"));
    expect(released?.Delete?.ExpressionAttributeValues).toEqual({ ":id": item.id });
    expect(putsTo(items, customerKeys.codeGuardPk(caller.tenant, "KH-900"))).toEqual([
      expect.objectContaining({ ConditionExpression: "attribute_not_exists(PK)" }),
    ]);
  });

  it("replaces the search tokens of a renamed customer", async () => {
    // Prepare
    const caller = aCaller();
    const item = stored(aCustomerItem(caller.tenant, { name: "Acme Trading", code: "KH-001" }));

    // Act
    await patchCustomer(caller, item.id, CustomerPatchSchema.parse({ name: "Globex" }), item.version);

    // Assess
    const items = transactions()[0]!;
    const deleted = items.filter((i) => i.Delete?.Key?.PK === item.PK).map((i) => i.Delete!.Key!.SK);
    const put = items.filter((i) => i.Put?.Item?.entity === "customer-search").map((i) => i.Put!.Item!.SK);
    expect(deleted).toEqual(expect.arrayContaining([customerKeys.searchSk("acmetrading")]));
    expect(put).toEqual(expect.arrayContaining([customerKeys.searchSk("globex")]));
    expect(put).not.toContain(customerKeys.searchSk("acmetrading"));
  });

  it("answers 404 for a customer in the recycle bin", async () => {
    // Prepare
    const caller = aCaller();
    const item = stored(aCustomerItem(caller.tenant, { deletedAt: "2026-02-01T00:00:00.000Z" }));

    // Act / Assess
    await expect(
      patchCustomer(caller, item.id, CustomerPatchSchema.parse({ level: "A" }), item.version),
    ).rejects.toBeInstanceOf(NotFoundError);
    expect(transactions()).toHaveLength(0);
  });

  it("refuses a viewer with 403 and writes nothing", async () => {
    // Act
    const act = patchCustomer(
      aCaller({ roles: ["viewer"] }),
      "01J0000000000000000000000A",
      CustomerPatchSchema.parse({ level: "A" }),
      1,
    );

    // Assess
    await expect(act).rejects.toBeInstanceOf(ForbiddenError);
    expect(writesSent()).toEqual([]);
  });
});
