// Unit tests for audit hash chains against a mocked DynamoDB: what transact sends for audit entries (chain position,
// hashes, the conditional head), re-reading the head and retrying after a race, several entries in one transaction.
import { createHash } from "node:crypto";
import {
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type GuardedItem, transact } from "../../../shared/db/transact.ts";
import { AUDIT_CHAINS, auditKeys, auditPut, type AuditInput } from "../../../shared/domain/audit/audit.ts";
import { AuditBusy, chainOf, entryHash, GENESIS_HASH } from "../../../shared/domain/audit/chain.ts";
import { canonicalJson } from "../../../shared/domain/idempotency/idempotency.ts";
import { ConflictError } from "../../../shared/http/errors.ts";
import { aTenant, cancelWhere, transactionCancelled, type TransactItem } from "./support/builders.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);

/** Hash of a chain head as a test would remember it: any 64 hex characters. */
const aHash = (seed: string) => createHash("sha256").update(seed).digest("hex");

/** An entity id on the given chain. */
function anEntityOn(chain: number, not: string[] = []): string {
  for (let i = 0; ; i++) {
    const id = `E${i.toString(36).padStart(8, "0")}`;
    if (chainOf(id) === chain && !not.includes(id)) return id;
  }
}

function anEntry(entityId: string, overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    at: "2026-03-04T05:06:07.000Z",
    actor: "u-alice",
    action: "update",
    entityType: "customer",
    entityId,
    before: { level: "B", version: 1 },
    after: { level: "A", version: 2 },
    ...overrides,
  };
}

/** A plain item of the write an audit entry records (a customer profile, say). */
function aWrite(pk: string, onConditionFailed?: () => Error): GuardedItem {
  return {
    item: {
      Put: {
        TableName: "unit-table",
        Item: { PK: pk, SK: "PROFILE" },
        ConditionExpression: "attribute_not_exists(PK)",
      },
    },
    ...(onConditionFailed ? { onConditionFailed } : {}),
  };
}

/** Serves the head of `chain` of `tenant`. */
const headOf = (tenant: string, chain: number) =>
  ddbMock.on(GetCommand, { Key: { PK: auditKeys.headPk(tenant, chain), SK: auditKeys.headSk() } });

const headItem = (tenant: string, chain: number, seq: number, hash: string) => ({
  Item: { PK: auditKeys.headPk(tenant, chain), SK: auditKeys.headSk(), entity: "audit-head", chain, seq, hash },
});

const sentTransactions = (): TransactItem[][] =>
  ddbMock.commandCalls(TransactWriteCommand).map((c) => (c.args[0].input as TransactWriteCommandInput).TransactItems!);

const entriesIn = (items: TransactItem[]) =>
  items.filter((i) => i.Put?.Item?.entity === "audit").map((i) => i.Put!.Item!);
const headsIn = (items: TransactItem[]) => items.filter((i) => i.Put?.Item?.entity === "audit-head").map((i) => i.Put!);
const isHead = (i: TransactItem) => i.Put?.Item?.entity === "audit-head";

const headReads = (tenant: string, chain: number) =>
  ddbMock.commandCalls(GetCommand, { Key: { PK: auditKeys.headPk(tenant, chain), SK: auditKeys.headSk() } });

beforeEach(() => {
  ddbMock.reset();
  ddbMock.on(GetCommand).resolves({});
  ddbMock.on(TransactWriteCommand).resolves({});
});

afterEach(() => {
  vi.useRealTimers();
});

describe("auditPut", () => {
  it("stays a synchronous transaction item that names its entry", () => {
    // Act
    const put = auditPut("acme", anEntry("E1"));

    // Assess
    expect(put.item.Put?.Item).toMatchObject({ PK: auditKeys.pk("acme", "E1"), entityId: "E1", changes: ["level"] });
    expect(put.deferred).toBeDefined();
  });
});

describe("transact with audit entries", () => {
  it("appends the entry after the head it read, and moves the head only if it is still there", async () => {
    // Prepare
    const T = aTenant();
    const entityId = anEntityOn(3);
    const prev = aHash("seq 4");
    headOf(T, 3).resolves(headItem(T, 3, 4, prev));

    // Act
    await transact([aWrite("P"), auditPut(T, anEntry(entityId, { requestId: "req-1" }))]);

    // Assess
    const [items] = sentTransactions();
    expect(items).toHaveLength(3);
    const [entry] = entriesIn(items!);
    expect(entry).toMatchObject({
      PK: auditKeys.pk(T, entityId),
      GSI1PK: auditKeys.chainPk(T, 3),
      GSI1SK: auditKeys.chainSk(5),
      GSI2PK: auditKeys.byActorPk(T, "u-alice"),
      chain: 3,
      seq: 5,
      prevHash: prev,
      requestId: "req-1",
    });
    const { PK: _p, SK: _s, GSI1PK: _a, GSI1SK: _b, GSI2PK: _c, GSI2SK: _d, hash, ...content } = entry!;
    expect(hash).toBe(
      createHash("sha256")
        .update(prev + canonicalJson(content))
        .digest("hex"),
    );
    expect(headReads(T, 3)[0]!.args[0].input.ConsistentRead).toBe(true);
    expect(headsIn(items!)).toEqual([
      expect.objectContaining({
        Item: expect.objectContaining({ PK: auditKeys.headPk(T, 3), SK: auditKeys.headSk(), seq: 5, hash }),
        ConditionExpression: "#seq = :read",
        ExpressionAttributeNames: { "#seq": "seq" },
        ExpressionAttributeValues: { ":read": 4 },
      }),
    ]);
  });

  it("starts a chain from the genesis hash and creates its head only if there is none", async () => {
    // Prepare
    const T = aTenant();
    const entityId = anEntityOn(0);

    // Act
    await transact([auditPut(T, anEntry(entityId))]);

    // Assess
    const [items] = sentTransactions();
    expect(entriesIn(items!)[0]).toMatchObject({ chain: 0, seq: 1, prevHash: GENESIS_HASH });
    expect(headsIn(items!)[0]).toMatchObject({
      Item: { seq: 1, hash: entriesIn(items!)[0]!.hash },
      ConditionExpression: "attribute_not_exists(PK)",
    });
  });

  it("re-reads the head and retries with the next seq when another writer appended first", async () => {
    // Prepare
    const T = aTenant();
    const entityId = anEntityOn(5);
    const theirs = aHash("seq 8 (theirs)");
    headOf(T, 5)
      .resolvesOnce(headItem(T, 5, 7, aHash("seq 7")))
      .resolves(headItem(T, 5, 8, theirs));
    ddbMock
      .on(TransactWriteCommand)
      .callsFakeOnce((input: TransactWriteCommandInput) => cancelWhere(input, isHead))
      .resolves({});

    // Act
    await transact([aWrite("P"), auditPut(T, anEntry(entityId))]);

    // Assess
    const [first, second] = sentTransactions();
    expect(sentTransactions()).toHaveLength(2);
    expect(headReads(T, 5)).toHaveLength(2);
    expect(entriesIn(first!)[0]).toMatchObject({ seq: 8 });
    expect(entriesIn(second!)[0]).toMatchObject({ seq: 9, prevHash: theirs });
    expect(entriesIn(second!)[0]!.id).toBe(entriesIn(first!)[0]!.id);
    expect(headsIn(second!)[0]).toMatchObject({ Item: { seq: 9 }, ExpressionAttributeValues: { ":read": 8 } });
  });

  it("gives up with a 409 'busy' after 8 attempts when the head keeps moving", async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    const T = aTenant();
    let seq = 0;
    headOf(T, chainOf("E1")).callsFake(() => Promise.resolve(headItem(T, chainOf("E1"), ++seq, aHash(`s${seq}`))));
    ddbMock.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => cancelWhere(input, isHead));

    // Act
    const outcome = transact([aWrite("P"), auditPut(T, anEntry("E1"))]).catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    const err = await outcome;

    // Assess
    expect(err).toBeInstanceOf(AuditBusy);
    expect((err as ConflictError).status).toBe(409);
    expect((err as Error).message).toMatch(/busy.*try again/);
    expect(sentTransactions()).toHaveLength(8);
  });

  it("raises the other item's own error, without retrying, when its condition failed", async () => {
    // Prepare
    class VersionStale extends Error {}
    const T = aTenant();
    ddbMock
      .on(TransactWriteCommand)
      .callsFake((input: TransactWriteCommandInput) => cancelWhere(input, (i) => isHead(i) || i.Put?.Item?.PK === "P"));

    // Act / Assess
    await expect(transact([aWrite("P", () => new VersionStale()), auditPut(T, anEntry("E1"))])).rejects.toBeInstanceOf(
      VersionStale,
    );
    expect(sentTransactions()).toHaveLength(1);
  });

  it("re-reads the head after a transaction conflict", async () => {
    // Prepare
    const T = aTenant();
    ddbMock
      .on(TransactWriteCommand)
      .rejectsOnce(transactionCancelled(["None", "TransactionConflict", "TransactionConflict"]))
      .resolves({});

    // Act
    await transact([aWrite("P"), auditPut(T, anEntry("E1"))]);

    // Assess
    expect(sentTransactions()).toHaveLength(2);
    expect(headReads(T, chainOf("E1"))).toHaveLength(2);
  });

  it("numbers two entries on one chain consecutively, links them, and moves that head once", async () => {
    // Prepare
    const T = aTenant();
    const a = anEntityOn(2);
    const b = anEntityOn(2, [a]);
    const c = anEntityOn(6);
    headOf(T, 2).resolves(headItem(T, 2, 10, aHash("seq 10")));

    // Act
    await transact([auditPut(T, anEntry(a)), aWrite("P"), auditPut(T, anEntry(c)), auditPut(T, anEntry(b))]);

    // Assess
    const [items] = sentTransactions();
    const entries = entriesIn(items!);
    expect(entries.map((e) => [e.entityId, e.chain, e.seq])).toEqual([
      [a, 2, 11],
      [c, 6, 1],
      [b, 2, 12],
    ]);
    expect(entries[0]!.prevHash).toBe(aHash("seq 10"));
    expect(entries[2]!.prevHash).toBe(entries[0]!.hash);
    const heads = headsIn(items!);
    expect(heads.map((h) => [h.Item!.chain, h.Item!.seq, h.Item!.hash])).toEqual([
      [2, 12, entries[2]!.hash],
      [6, 1, entries[1]!.hash],
    ]);
    expect(headReads(T, 2)).toHaveLength(1);
    // the write's own items keep their places; the heads come last
    expect(items!.map((i) => String(i.Put!.Item!.PK))).toEqual([
      auditKeys.pk(T, a),
      "P",
      auditKeys.pk(T, c),
      auditKeys.pk(T, b),
      auditKeys.headPk(T, 2),
      auditKeys.headPk(T, 6),
    ]);
  });

  it("refuses a transaction that would exceed 100 items once the heads are added, before sending", async () => {
    // Prepare
    const T = aTenant();
    const writes = Array.from({ length: 99 }, (_, i) => aWrite(`P${i}`));

    // Act / Assess
    await expect(transact([...writes, auditPut(T, anEntry("E1"))])).rejects.toThrow(/at most 100 items/);
    expect(sentTransactions()).toHaveLength(0);
  });

  it("hashes the entry as DynamoDB stores it, without undefined values", async () => {
    // Prepare
    const T = aTenant();

    // Act
    await transact([
      auditPut(T, anEntry("E1", { requestId: undefined, before: { level: undefined, tags: ["x", undefined] } })),
    ]);

    // Assess
    const [entry] = entriesIn(sentTransactions()[0]!);
    expect("requestId" in entry!).toBe(false);
    expect(entry!.before).toEqual({ tags: ["x"] });
    expect(entry!.hash).toBe(entryHash(structuredClone(entry!)));
  });
});

describe("entryHash", () => {
  it("is pinned: a change to the canonical form would break every stored chain", () => {
    // Prepare
    const item = {
      PK: "ignored",
      GSI1SK: "ignored",
      entity: "audit",
      id: "01J0000000000000000000000A",
      at: "2026-01-01T00:00:00.000Z",
      actor: "u-1",
      action: "create",
      entityType: "customer",
      entityId: "C1",
      changes: ["name"],
      before: null,
      after: { name: "上海浦东贸易有限公司", n: 1.5 },
      chain: 1,
      seq: 1,
      prevHash: GENESIS_HASH,
    };

    // Act / Assess
    expect(entryHash(item)).toBe(entryHash({ ...item, PK: "other", hash: "x" }));
    // sha256(prevHash + sorted-key compact JSON of the content), as any other language computes it
    expect(entryHash(item)).toBe("82a84022ff81147bfbfa5fd91d6aca633f173ab389a3d4d6ca026111a2113a18");
  });

  it("spreads entities over all chains", () => {
    const used = new Set(Array.from({ length: 400 }, (_, i) => chainOf(`E${i}`)));
    expect(used.size).toBe(AUDIT_CHAINS);
  });
});
