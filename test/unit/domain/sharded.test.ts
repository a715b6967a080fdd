// Unit tests for mergedQuery: scatter-gather pagination over list shards, against per-partition Query responses that
// follow DynamoDB's rules (Limit counts evaluated items, the filter applies after it, LastEvaluatedKey when Limit is hit).
import { QueryCommand, type QueryCommandInput, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { type MergedQuery, mergedQuery, type ShardCursor } from "../../../shared/db/sharded.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);

interface Row {
  PK: string;
  SK: string;
  GSI1PK: string;
  GSI1SK: string;
  /** Whether the test's filter keeps this row. */
  keep: boolean;
}

const PARTS = ["P#0", "P#1", "P#2", "P#3"];

/** A list row in `partition` whose sort key is `n`, zero-padded so that string order is numeric order. */
function aRow(partition: string, n: number, keep = true): Row {
  const sk = String(n).padStart(3, "0");
  return { PK: `ITEM#${sk}`, SK: "PROFILE", GSI1PK: partition, GSI1SK: sk, keep };
}

const keyOf = (r: Row) => ({ PK: r.PK, SK: r.SK, GSI1PK: r.GSI1PK, GSI1SK: r.GSI1SK });

/** Answers each partition's Query the way DynamoDB would from `rows`. */
function serveIndex(rows: Row[]): void {
  ddbMock.on(QueryCommand).callsFake((input: QueryCommandInput) => {
    const pk = input.ExpressionAttributeValues?.[":gpk"] as string;
    const part = rows.filter((r) => r.GSI1PK === pk).sort((a, b) => (a.GSI1SK < b.GSI1SK ? -1 : 1));
    if (input.ScanIndexForward === false) part.reverse();
    let from = 0;
    const esk = input.ExclusiveStartKey;
    if (esk) {
      for (const k of ["PK", "SK", "GSI1PK", "GSI1SK"]) {
        if (!(k in esk)) throw new Error(`ValidationException: the provided starting key lacks ${k}`);
      }
      from = part.findIndex((r) => r.GSI1SK === esk.GSI1SK) + 1;
      if (from === 0) throw new Error("ValidationException: the provided starting key is invalid");
    }
    const evaluated = part.slice(from, from + input.Limit!);
    const items = input.FilterExpression ? evaluated.filter((r) => r.keep) : evaluated;
    const last = evaluated.length === input.Limit ? evaluated.at(-1) : undefined;
    return Promise.resolve({
      Items: items.map((r) => ({ ...r })),
      ...(last ? { LastEvaluatedKey: keyOf(last) } : {}),
    });
  });
}

/** Reads every page as a client following cursors would; returns each page's sort keys. */
async function readAllPages(q: Omit<MergedQuery, "state">): Promise<string[][]> {
  const pages: string[][] = [];
  let state: ShardCursor | undefined;
  do {
    const res = await mergedQuery({ ...q, state });
    pages.push(res.items.map((i) => i.GSI1SK as string));
    state = res.state;
    if (pages.length > 100) throw new Error("pagination does not end");
  } while (state);
  return pages;
}

/** 23 rows spread unevenly: most in P#0, some in P#1 and P#2, none in P#3. */
function unevenRows(): Row[] {
  return Array.from({ length: 23 }, (_, i) => aRow(PARTS[[0, 0, 1, 2, 0, 1][i % 6]!]!, i + 1));
}

const sortedKeys = (rows: Row[], descending: boolean) =>
  rows.map((r) => r.GSI1SK).sort((a, b) => (a < b ? -1 : 1) * (descending ? -1 : 1));

beforeEach(() => {
  ddbMock.reset();
});

describe("mergedQuery", () => {
  it("returns the newest items across all partitions in one page", async () => {
    // Prepare
    serveIndex([aRow("P#0", 9), aRow("P#0", 5), aRow("P#0", 1), aRow("P#1", 8), aRow("P#1", 7), aRow("P#2", 6)]);

    // Act
    const page = await mergedQuery({ index: "GSI1", partitions: PARTS, limit: 4, descending: true });

    // Assess
    expect(page.items.map((i) => i.GSI1SK)).toEqual(["009", "008", "007", "006"]);
    expect(page.state).toBeDefined();
  });

  it("asks every partition of the index for one page, newest first", async () => {
    // Prepare
    serveIndex([]);

    // Act
    await mergedQuery({ index: "GSI1", partitions: PARTS, limit: 25, descending: true });

    // Assess
    const inputs = ddbMock.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(inputs.map((i) => i.ExpressionAttributeValues?.[":gpk"]).sort()).toEqual(PARTS);
    for (const input of inputs) {
      expect(input).toMatchObject({
        TableName: "unit-table",
        IndexName: "GSI1",
        KeyConditionExpression: "#gpk = :gpk",
        ScanIndexForward: false,
        Limit: 25,
      });
      expect(input.ExpressionAttributeNames?.["#gpk"]).toBe("GSI1PK");
    }
  });

  it("walks every item exactly once, newest first, in full pages until the state runs out", async () => {
    // Prepare
    const rows = unevenRows();
    serveIndex(rows);

    // Act
    const pages = await readAllPages({ index: "GSI1", partitions: PARTS, limit: 4, descending: true });

    // Assess
    expect(pages.flat()).toEqual(sortedKeys(rows, true));
    expect(pages.slice(0, -1).every((p) => p.length === 4)).toBe(true);
  });

  it("walks every item exactly once in ascending order too", async () => {
    // Prepare
    const rows = unevenRows();
    serveIndex(rows);

    // Act
    const pages = await readAllPages({ index: "GSI1", partitions: PARTS, limit: 5, descending: false });

    // Assess
    expect(pages.flat()).toEqual(sortedKeys(rows, false));
  });

  it("continues a partition whose whole page was served, rather than calling it finished", async () => {
    // Prepare: the six newest rows all live in P#0, so page after page comes from P#0 alone
    const rows = [10, 9, 8, 7, 6, 5].map((n) => aRow("P#0", n)).concat([4, 3, 2, 1].map((n) => aRow("P#1", n)));
    serveIndex(rows);

    // Act
    const pages = await readAllPages({ index: "GSI1", partitions: ["P#0", "P#1"], limit: 3, descending: true });

    // Assess
    expect(pages.flat()).toEqual(sortedKeys(rows, true));
    expect(pages[0]).toEqual(["010", "009", "008"]);
  });

  it("ends with no state when one page holds everything", async () => {
    // Prepare
    serveIndex([aRow("P#0", 3), aRow("P#2", 2), aRow("P#3", 1)]);

    // Act
    const page = await mergedQuery({ index: "GSI1", partitions: PARTS, limit: 10, descending: true });

    // Assess
    expect(page.items.map((i) => i.GSI1SK)).toEqual(["003", "002", "001"]);
    expect(page.state).toBeUndefined();
  });

  it("does not query a partition again once it is exhausted", async () => {
    // Prepare: P#1..P#3 hold fewer rows than a page, so DynamoDB tells them apart as finished at once
    serveIndex([aRow("P#0", 1), aRow("P#0", 2), aRow("P#0", 3), aRow("P#0", 4), aRow("P#1", 5)]);
    const first = await mergedQuery({ index: "GSI1", partitions: PARTS, limit: 2, descending: true });
    ddbMock.resetHistory();

    // Act
    await mergedQuery({ index: "GSI1", partitions: PARTS, limit: 2, descending: true, state: first.state });

    // Assess
    const asked = ddbMock.commandCalls(QueryCommand).map((c) => c.args[0].input.ExpressionAttributeValues?.[":gpk"]);
    expect(asked).toEqual(["P#0"]);
  });

  it("passes the filter to every partition next to its own key condition", async () => {
    // Prepare
    serveIndex([]);

    // Act
    await mergedQuery({
      index: "GSI1",
      partitions: PARTS,
      limit: 10,
      descending: true,
      filter: { expression: "#f0_0 = :f0", names: { "#f0_0": "industry" }, values: { ":f0": "steel" } },
    });

    // Assess
    for (const call of ddbMock.commandCalls(QueryCommand)) {
      const input = call.args[0].input;
      expect(input.FilterExpression).toBe("#f0_0 = :f0");
      expect(input.ExpressionAttributeNames).toEqual({ "#gpk": "GSI1PK", "#f0_0": "industry" });
      expect(input.ExpressionAttributeValues).toMatchObject({ ":f0": "steel" });
    }
  });

  // Exposes a bug: a partition whose evaluated rows were all filtered out still has unread rows that may sort before
  // rows other partitions already served, so the merge must not serve past that partition's LastEvaluatedKey.
  it("keeps pages in order when a filter drops the rows a partition evaluated", async () => {
    // Prepare: P#0 evaluates 010 and 009 (both dropped) before its kept 008; P#1 keeps 007, 006, 005
    const rows = [
      aRow("P#0", 10, false),
      aRow("P#0", 9, false),
      aRow("P#0", 8),
      aRow("P#1", 7),
      aRow("P#1", 6),
      aRow("P#1", 5),
    ];
    serveIndex(rows);
    const filter = { expression: "#k = :k", names: { "#k": "keep" }, values: { ":k": true } };

    // Act
    const pages = await readAllPages({ index: "GSI1", partitions: ["P#0", "P#1"], limit: 2, descending: true, filter });

    // Assess
    expect(pages.flat()).toEqual(["008", "007", "006", "005"]);
  });

  it("refuses a state made for another number of partitions", async () => {
    // Prepare
    serveIndex([]);

    // Act
    const act = mergedQuery({ index: "GSI1", partitions: PARTS, limit: 2, descending: true, state: [null, "done"] });

    // Assess
    await expect(act).rejects.toThrow("cursor does not match the partitions");
    expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(0);
  });
});
