// The bounded-concurrency helpers, and the profile reader built on them: a hundred keys a BatchGetItem, a few of those
// at once, unprocessed keys sent again, and the answer in the order of the ids asked for.
import { BatchGetCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { pool, settledPool } from "../../../shared/db/pool.ts";
import { batchGetProfiles } from "../../../shared/domain/customers/repository.ts";

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("pool", () => {
  it("runs every item with at most n in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    await pool([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      most = Math.max(most, ++inFlight);
      await tick();
      done.push(n);
      inFlight--;
    });
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it("settledPool starts nothing after a failure and throws it only once the tasks in flight have settled", async () => {
    const started: number[] = [];
    let slowFinished = false;
    const run = settledPool([1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      if (n === 1) throw new Error("one failed");
      await tick();
      slowFinished = true;
    });
    await expect(run).rejects.toThrow("one failed");
    expect(slowFinished).toBe(true);
    expect(started).toEqual([1, 2]);
  });
});

describe("batchGetProfiles", () => {
  const ddbMock = mockClient(DynamoDBDocumentClient);
  beforeEach(() => ddbMock.reset());

  it("reads 250 ids in three requests, at most four at once, retries unprocessed keys, answers in id order", async () => {
    const ids = Array.from({ length: 250 }, (_, i) => `c${String(i).padStart(3, "0")}`);
    let inFlight = 0;
    let most = 0;
    let heldBack = false;
    ddbMock
      .on(BatchGetCommand)
      .callsFake(async (input: { RequestItems: Record<string, { Keys: { PK: string }[] }> }) => {
        const [table, req] = Object.entries(input.RequestItems)[0]!;
        most = Math.max(most, ++inFlight);
        // The first request answers last, so the answers arrive out of order.
        await new Promise((r) => setTimeout(r, req.Keys.some((k) => k.PK.endsWith("#c000")) ? 30 : 5));
        inFlight--;
        const keys = req.Keys.map((k) => k.PK.split("#").pop()!);
        // Once, DynamoDB leaves the last key of a request unprocessed.
        const unprocessed = !heldBack && keys.length > 1 ? [req.Keys.at(-1)!] : [];
        heldBack ||= unprocessed.length > 0;
        const answered = unprocessed.length ? keys.slice(0, -1) : keys;
        return {
          Responses: { [table]: answered.map((id) => ({ id, name: `客户${id}` })) },
          UnprocessedKeys: unprocessed.length ? { [table]: { Keys: unprocessed } } : {},
        };
      });

    const found = await batchGetProfiles("acme", ids, true);

    expect([...found.keys()]).toEqual(ids);
    expect(found.get("c249")?.name).toBe("客户c249");
    const calls = ddbMock.commandCalls(BatchGetCommand).map((c) => Object.values(c.args[0].input.RequestItems!)[0]!);
    expect(calls.map((r) => r.Keys!.length).slice(0, 3)).toEqual([100, 100, 50]);
    expect(calls).toHaveLength(4); // the unprocessed key once more
    expect(calls.every((r) => r.ConsistentRead === true)).toBe(true);
    expect(calls.every((r) => r.Keys!.every((k) => String(k.PK).startsWith("T#acme#")))).toBe(true);
    expect(most).toBe(3);
  });
});
