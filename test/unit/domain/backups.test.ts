// Backups, the pure parts: which backups retention keeps (days, ISO weeks, months, in UTC) and the chunk codec
// (lossless DynamoDB JSON, order-independent content hash, corruption detected, key rewriting into a namespace).
import { ConditionalCheckFailedException, DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  ChunkUnreadableError,
  decodeChunk,
  encodeChunk,
  itemLines,
  linesSha256,
  type RawItem,
  rekey,
} from "../../../shared/domain/backups/codec.ts";
import { backupKeys } from "../../../shared/domain/backups/keys.ts";
import { advanceBackup, BackupStateMovedError, scanPrefixPage } from "../../../shared/domain/backups/repository.ts";
import { backupsToKeep } from "../../../shared/domain/backups/retention.ts";

/** One backup a day at 19:00 UTC for `days` days ending 2026-12-01 (ids are the dates). */
function nightly(days: number) {
  const out: { id: string; at: string }[] = [];
  for (let i = 0; i < days; i++) {
    const d = new Date(Date.UTC(2026, 11, 1, 19) - i * 86_400_000).toISOString();
    out.push({ id: d.slice(0, 10), at: d });
  }
  return out;
}

describe("retention", () => {
  it("keeps 7 daily, 4 weekly and 12 monthly out of 400 nightly backups", () => {
    const keep = [...backupsToKeep(nightly(400), { daily: 7, weekly: 4, monthly: 12 })].sort();
    // Daily: Nov 25..Dec 1. Weekly (Mondays' weeks, newest of each): Dec 1 (week of Nov 30), Nov 29, Nov 22, Nov 15.
    // Monthly (newest of each): Dec 1, Nov 30, Oct 31, ... Jan 31 2026.
    const daily = ["2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01"];
    const weekly = ["2026-11-15", "2026-11-22"];
    const monthly = ["01-31", "02-28", "03-31", "04-30", "05-31", "06-30", "07-31", "08-31", "09-30", "10-31"].map(
      (d) => `2026-${d}`,
    );
    expect(keep).toEqual([...monthly, ...weekly, ...daily].sort());
  });

  it("keeps only the newest backup of a day when two were taken", () => {
    const keep = backupsToKeep(
      [
        { id: "morning", at: "2026-12-01T01:00:00.000Z" },
        { id: "evening", at: "2026-12-01T19:00:00.000Z" },
      ],
      { daily: 7, weekly: 4, monthly: 12 },
    );
    expect([...keep]).toEqual(["evening"]);
  });

  it("keeps nothing beyond the policy when weekly and monthly are 0", () => {
    expect([...backupsToKeep(nightly(10), { daily: 2, weekly: 0, monthly: 0 })].sort()).toEqual([
      "2026-11-30",
      "2026-12-01",
    ]);
  });
});

const item = (id: string, extra: RawItem = {}): RawItem => ({
  PK: { S: `T#t1#CUST#${id}` },
  SK: { S: "PROFILE" },
  GSI1PK: { S: "T#t1#CUSTS#3" },
  entity: { S: "customer" },
  amount: { N: "12345678901234567890.12" },
  tags: { SS: ["b", "a"] },
  ...extra,
});

describe("chunk codec", () => {
  it("round-trips items exactly, numbers, sets and binary included", () => {
    const items = [item("1"), item("2", { blob: { B: new Uint8Array([0, 1, 255]) } })];
    const enc = encodeChunk(items);
    const back = decodeChunk(enc.body);
    expect(enc.items).toBe(2);
    expect(back).toHaveLength(2);
    expect(linesSha256(itemLines(back))).toBe(enc.contentSha256);
    const two = back.find((i) => i.PK!.S === "T#t1#CUST#2")!;
    expect(Buffer.from(two.blob!.B!)).toEqual(Buffer.from([0, 1, 255]));
    expect(two.amount).toEqual({ N: "12345678901234567890.12" });
  });

  it("hashes content independently of item order and attribute order", () => {
    const a = encodeChunk([item("1"), item("2")]);
    const b = encodeChunk([item("2"), { entity: { S: "customer" }, ...item("1") }]);
    expect(b.contentSha256).toBe(a.contentSha256);
    expect(b.sha256).toBe(a.sha256);
  });

  it("refuses bytes that are not a chunk", () => {
    expect(() => decodeChunk(Buffer.from("not gzip"))).toThrow(ChunkUnreadableError);
  });

  it("moves key attributes into a scratch namespace and back, and leaves other attributes alone", () => {
    const from = backupKeys.tenantPrefix("t1");
    const to = backupKeys.tenantPrefix(backupKeys.scratchTenant("01M8QK2XM25RBHA7N139WMR4PF"));
    const moved = rekey(item("1", { note: { S: "T#t1#CUST#1" } }), from, to);
    expect(moved.PK).toEqual({ S: "T#~drill~01M8QK2XM25RBHA7N139WMR4PF#CUST#1" });
    expect(moved.GSI1PK).toEqual({ S: "T#~drill~01M8QK2XM25RBHA7N139WMR4PF#CUSTS#3" });
    expect(moved.SK).toEqual({ S: "PROFILE" });
    expect(moved.note).toEqual({ S: "T#t1#CUST#1" });
    expect(rekey(moved, to, from)).toEqual(item("1", { note: { S: "T#t1#CUST#1" } }));
  });
});

describe("backup state and the tenant scan (DynamoDB mocked)", () => {
  const ddbMock = mockClient(DynamoDBDocumentClient);
  const lowMock = mockClient(DynamoDBClient);
  beforeEach(() => {
    ddbMock.reset();
    lowMock.reset();
  });

  it("moves a backup's state only from the sequence number it read, else stops the run", async () => {
    ddbMock.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: "no", $metadata: {} }));
    await expect(advanceBackup("t1", "b1", 3, { items: 10 })).rejects.toBeInstanceOf(BackupStateMovedError);
    const input = ddbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input.Key).toEqual({ PK: backupKeys.pk("t1", "b1"), SK: backupKeys.sk() });
    expect(input.ConditionExpression).toContain("#seq = :seq");
    expect(input.ExpressionAttributeValues).toMatchObject({ ":seq": 3, ":next": 4 });
  });

  it("scans one segment for the tenant's prefix only, strongly consistent, from the saved position", async () => {
    lowMock.on(ScanCommand).resolves({ Items: [item("1")], LastEvaluatedKey: { PK: { S: "x" }, SK: { S: "y" } } });
    const start = { PK: { S: "a" }, SK: { S: "b" } };
    const page = await scanPrefixPage("T#t1#", 2, 4, start, 500);
    expect(page).toEqual({ items: [item("1")], next: { PK: { S: "x" }, SK: { S: "y" } } });
    const input = lowMock.commandCalls(ScanCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      Segment: 2,
      TotalSegments: 4,
      Limit: 500,
      ConsistentRead: true,
      ExclusiveStartKey: start,
      FilterExpression: "begins_with(PK, :p)",
      ExpressionAttributeValues: { ":p": { S: "T#t1#" } },
    });
  });
});
