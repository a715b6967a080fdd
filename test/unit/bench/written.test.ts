// The bench's estimate of what DynamoDB bills for a transaction, since DynamoDB Local reports too little for one
// (bench/capacity-probe.ts): item sizes by DynamoDB's rules, 2 write units per item per started KB.
import { describe, expect, it } from "vitest";
import { ItemSizes, itemSize, pendingUnits, transactWriteUnits, valueSize } from "../../../bench/written.ts";

const kb = (n: number) => "x".repeat(Math.round(n * 1024));

describe("item sizes", () => {
  it("counts names and values the same in plain and AttributeValue shape", () => {
    // "PK" 2 + "ab" 2, "n" 1 + 12345 (3 digit pairs: 3 + 1), "ok" 2 + true 1
    expect(itemSize({ PK: "ab", n: 12345, ok: true })).toBe(2 + 2 + 1 + 4 + 2 + 1);
    expect(itemSize({ PK: { S: "ab" }, n: { N: "12345" }, ok: { BOOL: true } })).toBe(12);
    const nested = { m: { a: "xy", l: [1, "z"] } };
    const marshalled = { m: { M: { a: { S: "xy" }, l: { L: [{ N: "1" }, { S: "z" }] } } } };
    expect(itemSize(marshalled)).toBe(itemSize(nested));
    // map: 3 + (1 + "a" + "xy") + (1 + "l" + list: 3 + (1 + 2) + (1 + 1))
    expect(valueSize(nested.m)).toBe(3 + 4 + 2 + 8);
    expect(itemSize({ name: "上海" })).toBe(4 + 6);
  });
});

describe("transactWriteUnits", () => {
  const put = (pk: string, size: number) => ({ Put: { TableName: "t", Item: { PK: pk, SK: "A", v: kb(size) } } });
  const update = (pk: string) => ({ Update: { TableName: "t", Key: { PK: pk, SK: "A" } } });

  it("bills 2 units per item per started KB, where DynamoDB Local reports a rounded total", () => {
    const sizes = new ItemSizes();
    // The probe's cases: DynamoDB Local reported 2 and 4 for the first two.
    const ten = Array.from({ length: 10 }, (_, i) => put(`p${i}`, 0.1));
    expect(transactWriteUnits({ TransactItems: ten }, sizes)).toEqual({ units: 20, pending: [] });
    expect(transactWriteUnits({ TransactItems: [put("a", 1.5), put("b", 1.5)] }, sizes).units).toBe(8);
    expect(transactWriteUnits({ TransactItems: [put("c", 3.5)] }, sizes).units).toBe(8);
  });

  it("leaves updates, deletes and checks to be weighed: the larger of before and after, else 1 KB", () => {
    const sizes = new ItemSizes();
    sizes.remember("t", { PK: "seen", SK: "A", v: kb(2.5) });
    const check = { ConditionCheck: { TableName: "t", Key: { PK: { S: "seen" }, SK: { S: "A" } } } };
    const { units, pending } = transactWriteUnits(
      { TransactItems: [put("new", 0.2), update("seen"), update("unseen"), check, { Delete: update("gone").Update }] },
      sizes,
    );
    expect(units).toBe(2);
    expect(pending.map((p) => [p.before !== undefined, p.deleted])).toEqual([
      [true, false],
      [false, false],
      [true, false], // the AttributeValue-shaped key finds the same size
      [false, true],
    ]);
    // After the transaction: "seen" grew to 3.2 KB, "unseen" is 0.5 KB; the deleted one was never seen.
    const after = (p: { key: Record<string, unknown> }) =>
      ({ seen: { bytes: 3.2 * 1024, indexes: 0 }, unseen: { bytes: 512, indexes: 0 } })[
        String((p.key.PK as { S?: string }).S ?? p.key.PK)
      ];
    // seen: max(2.5, 3.2) KB -> 8; unseen: 0.5 KB -> 2; check of seen (after 3.2 KB) -> 8; deleted, unseen -> 2
    expect(pendingUnits(pending, after)).toBe(8 + 2 + 8 + 2);
    // An item that shrank is billed at its size before.
    expect(pendingUnits([pending[0]!], () => ({ bytes: 100, indexes: 0 }))).toBe(6);
  });

  it("adds a standard write per started KB in each index that holds the item", () => {
    const sizes = new ItemSizes();
    const profile = {
      ...{ PK: "c1", SK: "PROFILE", GSI1PK: "l", GSI1SK: "1", GSI2PK: "o", GSI2SK: "1", GSI4PK: "s" },
      v: kb(1.2),
    };
    // 2 KB: 4 in the table, 2 in each of GSI1 and GSI2 (GSI4 lacks its sort key, so it does not hold the item)
    expect(transactWriteUnits({ TransactItems: [{ Put: { TableName: "t", Item: profile } }] }, sizes).units).toBe(8);
    sizes.remember("t", profile);
    const updateProfile = { Update: { TableName: "t", Key: { PK: "c1", SK: "PROFILE" } } };
    const { pending } = transactWriteUnits({ TransactItems: [updateProfile] }, sizes);
    expect(pending[0]!.before).toEqual({ bytes: expect.any(Number), indexes: 2 });
    // After the update it is in three indexes.
    expect(pendingUnits(pending, () => ({ bytes: 1500, indexes: 3 }))).toBe(4 + 3 * 2);
  });

  it("keeps only the most recent sizes", () => {
    const sizes = new ItemSizes(2);
    for (const pk of ["a", "b", "c"]) sizes.remember("t", { PK: pk, SK: "A", v: kb(3) });
    expect(sizes.get("t", { PK: "a", SK: "A" })).toBeUndefined();
    expect(sizes.get("t", { PK: "c", SK: "A" })?.bytes).toBeGreaterThan(3072);
  });
});
