// Audit hash chains against DynamoDB Local: parallel writes through the customer service keep every chain whole, and
// verify names exactly the entry that was changed, removed or rewritten; tenants' chains are independent; a writer that
// remembers the heads it wrote (an import) keeps them whole too, whatever other writers do meanwhile.
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import type { Caller } from "../../shared/auth/claims.ts";
import { env } from "../../shared/config/env.ts";
import { ddb } from "../../shared/db/client.ts";
import { transact } from "../../shared/db/transact.ts";
import { AUDIT_CHAINS, auditKeys, auditPut } from "../../shared/domain/audit/audit.ts";
import { chainOf, entryHash, type HeadMemo } from "../../shared/domain/audit/chain.ts";
import { verifyAuditChain } from "../../shared/domain/audit/verify.ts";
import { CustomerCreateSchema, type Customer } from "../../shared/domain/customers/schemas.ts";
import { createCustomer, patchCustomer } from "../../shared/domain/customers/service.ts";
import { aCaller, aCustomerInput } from "../support/builders.ts";

type Item = Record<string, unknown>;

const create = async (caller: Caller, name: string) =>
  (await createCustomer(caller, CustomerCreateSchema.parse(aCustomerInput({ name })), undefined)).body as Customer;

/** `n` customers created in parallel, then each patched once in parallel: 2n audit entries. */
async function busyTenant(n: number) {
  const caller = aCaller();
  const made = await Promise.all(Array.from({ length: n }, (_, i) => create(caller, `链式审计客户${i}`)));
  await Promise.all(made.map((c) => patchCustomer(caller, c.id, { level: "A" }, 1)));
  return { caller, made };
}

/** The stored entries of one chain, in sequence order, as they are in the table. */
async function chainItems(tenant: string, chain: number): Promise<Item[]> {
  const res = await ddb.send(
    new QueryCommand({
      TableName: env.TABLE_NAME,
      IndexName: "GSI1",
      KeyConditionExpression: "GSI1PK = :pk",
      ExpressionAttributeValues: { ":pk": auditKeys.chainPk(tenant, chain) },
    }),
  );
  return res.Items ?? [];
}

/** A chain with at least `min` entries (10 customers on 8 chains put two customers, 4 entries, on one of them). */
async function aChainWith(tenant: string, min: number): Promise<{ chain: number; items: Item[] }> {
  for (let chain = 0; chain < AUDIT_CHAINS; chain++) {
    const items = await chainItems(tenant, chain);
    if (items.length >= min) return { chain, items };
  }
  throw new Error(`no chain with ${min} entries`);
}

const keyOf = (i: Item) => ({ PK: i.PK, SK: i.SK });

describe("audit hash chains", () => {
  it("stay whole under many parallel writes through the customer service", async () => {
    // Prepare / Act
    const { caller } = await busyTenant(24);

    // Assess
    const result = await verifyAuditChain(caller.tenant);
    expect(result).toEqual({ ok: true, chains: AUDIT_CHAINS, entries: 48 });
    let used = 0;
    for (let chain = 0; chain < AUDIT_CHAINS; chain++) {
      const items = await chainItems(caller.tenant, chain);
      expect(items.map((i) => i.seq)).toEqual(items.map((_, n) => n + 1));
      if (items.length) used++;
    }
    expect(used).toBeGreaterThan(1); // appends spread over several chains, not one hot head
  });

  it("names exactly the entry whose stored `after` was changed", async () => {
    // Prepare
    const { caller } = await busyTenant(10);
    const { chain, items } = await aChainWith(caller.tenant, 3);
    const victim = items[1]!;

    // Act
    await ddb.send(
      new UpdateCommand({
        TableName: env.TABLE_NAME,
        Key: keyOf(victim),
        UpdateExpression: "SET #after.#level = :forged",
        ExpressionAttributeNames: { "#after": "after", "#level": "level" },
        ExpressionAttributeValues: { ":forged": "C" },
      }),
    );

    // Assess
    const result = await verifyAuditChain(caller.tenant);
    expect(result.ok).toBe(false);
    expect(result.entries).toBe(20);
    expect(result.firstBroken).toEqual({
      chain,
      seq: 2,
      entryId: victim.id,
      entityId: victim.entityId,
      kind: "hash-mismatch",
      reason: expect.stringContaining("changed after it was written"),
    });
  });

  it("names the gap where an entry was deleted", async () => {
    // Prepare
    const { caller } = await busyTenant(10);
    const { chain, items } = await aChainWith(caller.tenant, 3);

    // Act
    await ddb.send(new DeleteCommand({ TableName: env.TABLE_NAME, Key: keyOf(items[1]!) }));

    // Assess
    const result = await verifyAuditChain(caller.tenant);
    expect(result.ok).toBe(false);
    expect(result.entries).toBe(19);
    expect(result.firstBroken).toMatchObject({ chain, seq: 2, kind: "missing-entry" });
    expect(result.firstBroken!.reason).toContain("seq 2 is missing");
    expect(result.firstBroken!.entryId).toBeUndefined();
  });

  it("notices the chain's last entry deleted, through the head", async () => {
    // Prepare
    const { caller } = await busyTenant(4);
    const { chain, items } = await aChainWith(caller.tenant, 2);

    // Act
    await ddb.send(new DeleteCommand({ TableName: env.TABLE_NAME, Key: keyOf(items.at(-1)!) }));

    // Assess
    const result = await verifyAuditChain(caller.tenant);
    expect(result.firstBroken).toMatchObject({ chain, seq: items.length, kind: "missing-entry" });
  });

  it("names the next entry when one was rewritten with a recomputed hash", async () => {
    // Prepare
    const { caller } = await busyTenant(10);
    const { chain, items } = await aChainWith(caller.tenant, 3);
    const rewritten = { ...items[0]!, after: { ...(items[0]!.after as Item), level: "C" } };

    // Act: a forger who knows the hash function rewrites entry 1 consistently, but cannot fix entry 2's prevHash
    await ddb.send(new PutCommand({ TableName: env.TABLE_NAME, Item: { ...rewritten, hash: entryHash(rewritten) } }));

    // Assess
    const result = await verifyAuditChain(caller.tenant);
    expect(result.firstBroken).toMatchObject({ chain, seq: 2, entryId: items[1]!.id, kind: "link-mismatch" });
  });

  it("keeps each tenant's chains to itself", async () => {
    // Prepare
    const [a, b] = await Promise.all([busyTenant(5), busyTenant(3)]);
    const { items } = await aChainWith(a.caller.tenant, 1);

    // Act
    await ddb.send(
      new UpdateCommand({
        TableName: env.TABLE_NAME,
        Key: keyOf(items[0]!),
        UpdateExpression: "SET actor = :forged",
        ExpressionAttributeValues: { ":forged": "u-mallory" },
      }),
    );

    // Assess
    expect((await verifyAuditChain(a.caller.tenant)).firstBroken).toMatchObject({ entryId: items[0]!.id });
    expect(await verifyAuditChain(b.caller.tenant)).toEqual({ ok: true, chains: AUDIT_CHAINS, entries: 6 });
    expect(await verifyAuditChain(aCaller().tenant)).toEqual({ ok: true, chains: AUDIT_CHAINS, entries: 0 });
  });
});

describe("chain heads a writer remembers (an import's lanes)", () => {
  const entry = (tenant: string, entityId: string, heads: HeadMemo | undefined) =>
    auditPut(
      tenant,
      {
        at: new Date().toISOString(),
        actor: "u-import",
        action: "create",
        entityType: "customer",
        entityId,
        before: null,
        after: { name: entityId },
      },
      heads,
    );
  /** Ids on one chain: the entries of all of them join the same chain. */
  const onOneChain = (n: number) => {
    const out: string[] = [];
    for (let i = 0; out.length < n; i++) if (chainOf(`cust-${i}`) === chainOf("cust-0")) out.push(`cust-${i}`);
    return out;
  };

  it("another writer appending between two remembered appends: the second reads the head again, the chain stays whole", async () => {
    const tenant = aCaller().tenant;
    const heads: HeadMemo = new Map();
    const [a, b, c, d] = onOneChain(4);
    await transact([entry(tenant, a!, heads)]);
    expect([...heads.values()]).toEqual([expect.objectContaining({ seq: 1 })]);
    await transact([entry(tenant, b!, undefined)]); // another writer, which knows nothing of `heads`
    await transact([entry(tenant, c!, heads)]); // starts from seq 1, is cancelled, reads seq 2 and appends at 3
    await transact([entry(tenant, d!, heads)]);

    expect(await verifyAuditChain(tenant)).toEqual({ ok: true, chains: AUDIT_CHAINS, entries: 4 });
    const items = await chainItems(tenant, chainOf(a!));
    expect(items.map((i) => [i.entityId, i.seq])).toEqual([
      [a, 1],
      [b, 2],
      [c, 3],
      [d, 4],
    ]);
    expect([...heads.values()]).toEqual([expect.objectContaining({ seq: 4 })]);
  });

  it("a transaction cancelled by another item's condition remembers nothing: the next append is right", async () => {
    const tenant = aCaller().tenant;
    const heads: HeadMemo = new Map();
    const [a, b, c] = onOneChain(3);
    await transact([entry(tenant, a!, heads)]);
    const taken = { PK: `T#${tenant}#TEST`, SK: "TAKEN" };
    await ddb.send(new PutCommand({ TableName: env.TABLE_NAME, Item: taken }));
    await expect(
      transact([
        entry(tenant, b!, heads),
        {
          item: { Put: { TableName: env.TABLE_NAME, Item: taken, ConditionExpression: "attribute_not_exists(PK)" } },
          onConditionFailed: () => new Error("taken"),
        },
      ]),
    ).rejects.toThrow("taken");
    expect(heads.size).toBe(0);
    await transact([entry(tenant, c!, heads)]);

    expect(await verifyAuditChain(tenant)).toEqual({ ok: true, chains: AUDIT_CHAINS, entries: 2 });
    expect((await chainItems(tenant, chainOf(a!))).map((i) => [i.entityId, i.seq])).toEqual([
      [a, 1],
      [c, 2],
    ]);
  });
});
