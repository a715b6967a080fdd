// Unit tests for Idempotency-Key handling: key checks, replay of a stored result, refusal of a reused key, and the
// race where another request with the same key commits first.
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { CustomerCreateSchema } from "../../../shared/domain/customers/schemas.ts";
import { createCustomer } from "../../../shared/domain/customers/service.ts";
import {
  findReplay,
  type IdempotencyContext,
  idempotencyFrom,
  idempotencyKeys,
  idempotencyPut,
  IdempotencyRace,
  once,
  type StoredResult,
} from "../../../shared/domain/idempotency/idempotency.ts";
import { BadRequestError, ConflictError, UnprocessableError } from "../../../shared/http/errors.ts";
import { aCaller, aTenant, cancelWhere } from "./support/builders.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
const ROUTE = "POST /v1/customers";

function aContext(body: unknown = { name: "Acme" }, tenant = aTenant()): IdempotencyContext {
  return idempotencyFrom(tenant, "key-123", ROUTE, body)!;
}

/** What an earlier request with `ctx` left in the table, `ageSeconds` ago. */
function storedBy(ctx: IdempotencyContext, result: StoredResult, ageSeconds = 0) {
  const item = { ...idempotencyPut(ctx, result).item.Put!.Item! };
  item.expiresAt = (item.expiresAt as number) - ageSeconds;
  return item;
}

/** Serves `item` (or nothing) at the idempotency record of `ctx`. */
function recordAt(ctx: IdempotencyContext) {
  return ddbMock.on(GetCommand, { Key: { PK: idempotencyKeys.pk(ctx.tenant, ctx.key), SK: idempotencyKeys.sk() } });
}

beforeEach(() => {
  ddbMock.reset();
  // No user record: the token's roles and department apply (the viewer is read before anything else).
  ddbMock.on(BatchGetCommand).resolves({ Responses: {} });
  ddbMock.on(GetCommand).resolves({});
  ddbMock.on(UpdateCommand).resolves({ Attributes: { seq: 1 } });
  ddbMock.on(TransactWriteCommand).resolves({});
});

describe("idempotencyFrom", () => {
  it("is undefined when the request carries no key", () => {
    expect(idempotencyFrom("acme", undefined, ROUTE, {})).toBeUndefined();
  });

  it.each([
    ["empty", "  "],
    ["non-ASCII", "schlüssel"],
    ["longer than 255 characters", "k".repeat(256)],
  ])("refuses a key that is %s with 400", (_what, key) => {
    expect(() => idempotencyFrom("acme", key, ROUTE, {})).toThrow(BadRequestError);
  });

  it("fingerprints the route and body, so only the very same request counts as a repeat", () => {
    // Act
    const a = idempotencyFrom("acme", "k", ROUTE, { name: "Acme" })!;
    const same = idempotencyFrom("acme", " k ", ROUTE, { name: "Acme" })!;
    const otherBody = idempotencyFrom("acme", "k", ROUTE, { name: "Globex" })!;
    const otherRoute = idempotencyFrom("acme", "k", "POST contacts 01J", { name: "Acme" })!;

    // Assess
    expect(same).toEqual(a);
    expect(otherBody.fingerprint).not.toBe(a.fingerprint);
    expect(otherRoute.fingerprint).not.toBe(a.fingerprint);
  });

  it("treats the same body with its keys in another order as the same request", () => {
    const a = idempotencyFrom("acme", "k", ROUTE, { name: "Acme", tags: ["x"], customFields: { b: 1, a: 2 } })!;
    const b = idempotencyFrom("acme", "k", ROUTE, { customFields: { a: 2, b: 1 }, tags: ["x"], name: "Acme" })!;
    const reordered = idempotencyFrom("acme", "k", ROUTE, { name: "Acme", tags: ["x"], customFields: { a: 1, b: 2 } })!;
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(reordered.fingerprint).not.toBe(a.fingerprint);
  });
});

describe("findReplay", () => {
  it("finds nothing for a key never used", async () => {
    expect(await findReplay(aContext())).toBeUndefined();
  });

  it("returns the stored result of the same request", async () => {
    // Prepare
    const ctx = aContext();
    recordAt(ctx).resolves({ Item: storedBy(ctx, { status: 201, body: { id: "C1" } }) });

    // Act
    const replay = await findReplay(ctx);

    // Assess
    expect(replay).toEqual({ status: 201, body: { id: "C1" } });
  });

  it("refuses the same key with a different body with 422", async () => {
    // Prepare
    const first = aContext({ name: "Acme" });
    const second = aContext({ name: "Globex" }, first.tenant);
    recordAt(first).resolves({ Item: storedBy(first, { status: 201, body: { id: "C1" } }) });

    // Act
    const err = await findReplay(second).catch((e: unknown) => e);

    // Assess
    expect(err).toBeInstanceOf(UnprocessableError);
    expect((err as UnprocessableError).status).toBe(422);
  });

  it("ignores a record older than 24 hours that TTL has not removed yet", async () => {
    // Prepare
    const ctx = aContext();
    recordAt(ctx).resolves({ Item: storedBy(ctx, { status: 201, body: { id: "C1" } }, 24 * 3600 + 60) });

    // Act / Assess
    expect(await findReplay(ctx)).toBeUndefined();
  });
});

describe("once", () => {
  it("runs the create without recording anything when there is no key", async () => {
    // Prepare
    const create = vi.fn(async (record: (r: StoredResult) => unknown) => {
      expect(record({ status: 201, body: {} })).toBeUndefined();
      return { status: 201, body: { id: "C1" } };
    });

    // Act
    const res = await once(undefined, create);

    // Assess
    expect(res).toEqual({ status: 201, body: { id: "C1" }, replayed: false });
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it("replays a stored result without running the create again", async () => {
    // Prepare
    const ctx = aContext();
    recordAt(ctx).resolves({ Item: storedBy(ctx, { status: 201, body: { id: "C1" } }) });
    const create = vi.fn();

    // Act
    const res = await once(ctx, create);

    // Assess
    expect(res).toEqual({ status: 201, body: { id: "C1" }, replayed: true });
    expect(create).not.toHaveBeenCalled();
  });

  it("hands the create a record item that only succeeds for the first request with the key", async () => {
    // Prepare
    const ctx = aContext();
    let recorded: ReturnType<typeof idempotencyPut> | undefined;

    // Act
    await once(ctx, async (record) => {
      recorded = record({ status: 201, body: { id: "C1" } }) as typeof recorded;
      return { status: 201, body: { id: "C1" } };
    });

    // Assess
    expect(recorded?.item.Put).toMatchObject({
      Item: {
        PK: idempotencyKeys.pk(ctx.tenant, ctx.key),
        fingerprint: ctx.fingerprint,
        status: 201,
        body: { id: "C1" },
      },
    });
    expect(recorded?.item.Put?.ConditionExpression).toContain("attribute_not_exists(PK)");
    expect(recorded?.onConditionFailed?.()).toBeInstanceOf(IdempotencyRace);
  });

  it("replays the winner's result when a concurrent request with the key committed first", async () => {
    // Prepare
    const ctx = aContext();
    recordAt(ctx)
      .resolvesOnce({})
      .resolves({ Item: storedBy(ctx, { status: 201, body: { id: "WINNER" } }) });

    // Act
    const res = await once(ctx, async () => {
      throw new IdempotencyRace();
    });

    // Assess
    expect(res).toEqual({ status: 201, body: { id: "WINNER" }, replayed: true });
  });

  it("passes on the 409 when the winner's record cannot be read", async () => {
    // Prepare
    const ctx = aContext();

    // Act
    const act = once(ctx, async () => {
      throw new IdempotencyRace();
    });

    // Assess
    await expect(act).rejects.toBeInstanceOf(ConflictError);
  });
});

describe("createCustomer with an Idempotency-Key", () => {
  const input = CustomerCreateSchema.parse({ name: "Acme Trading", code: "KH-001" });

  it("stores its result in the same transaction as the customer", async () => {
    // Prepare
    const caller = aCaller();
    const ctx = aContext(input, caller.tenant);

    // Act
    const res = await createCustomer(caller, input, ctx);

    // Assess
    const items = ddbMock.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    const record = items.find((i) => i.Put?.Item?.PK === idempotencyKeys.pk(caller.tenant, ctx.key));
    expect(record?.Put?.Item).toMatchObject({ status: 201, body: res.body });
    expect(res.replayed).toBe(false);
  });

  it("replays the first result for a repeat, writing nothing", async () => {
    // Prepare
    const caller = aCaller();
    const ctx = aContext(input, caller.tenant);
    recordAt(ctx).resolves({ Item: storedBy(ctx, { status: 201, body: { id: "C1", code: "KH-001" } }) });

    // Act
    const res = await createCustomer(caller, input, ctx);

    // Assess
    expect(res).toEqual({ status: 201, body: { id: "C1", code: "KH-001" }, replayed: true });
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it("re-reads and replays when its record's condition fails because a concurrent request won", async () => {
    // Prepare
    const caller = aCaller();
    const ctx = aContext(input, caller.tenant);
    const pk = idempotencyKeys.pk(caller.tenant, ctx.key);
    recordAt(ctx)
      .resolvesOnce({})
      .resolves({ Item: storedBy(ctx, { status: 201, body: { id: "WINNER" } }) });
    // the winner also holds the code, so both conditions fail; the record comes first in the transaction
    ddbMock
      .on(TransactWriteCommand)
      .callsFake((tx: TransactWriteCommandInput) =>
        cancelWhere(tx, (i) => i.Put?.Item?.PK === pk || i.Put?.Item?.entity === "guard"),
      );

    // Act
    const res = await createCustomer(caller, input, ctx);

    // Assess
    expect(res).toEqual({ status: 201, body: { id: "WINNER" }, replayed: true });
    expect(ddbMock.commandCalls(GetCommand, { Key: { PK: pk, SK: idempotencyKeys.sk() } })).toHaveLength(2);
  });
});
