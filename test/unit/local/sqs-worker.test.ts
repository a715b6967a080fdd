// sqsWorker (shared/queue/worker.ts) and the health worker built on it: records one by one, partial batch failures.
import { UpdateCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Context, SQSEvent, SQSRecord } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { handler as healthWorker } from "../../../functions/workers/health-worker.ts";
import { normalizeRecord } from "../../../local/s3.ts";
import { sqsWorker } from "../../../shared/queue/worker.ts";
import { sqsRecord } from "../../support/job-events.ts";

const record = (body: string, id = body) => sqsRecord(body, { messageId: id, queue: "q" });
const event = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const context = { awsRequestId: "r", functionName: "f" } as Context;

describe("sqsWorker", () => {
  const Job = z.object({ n: z.number() });

  it("handles every record in order and reports none failed", async () => {
    const seen: number[] = [];
    const h = sqsWorker(Job, async (body) => void seen.push(body.n));
    expect(await h(event(record('{"n":1}'), record('{"n":2}')), context)).toEqual({ batchItemFailures: [] });
    expect(seen).toEqual([1, 2]);
  });

  it("reports bad JSON, a schema mismatch and a handler error as failures, and still handles the rest", async () => {
    const seen: number[] = [];
    const h = sqsWorker(Job, async (body) => {
      if (body.n === 3) throw new Error("downstream failed");
      seen.push(body.n);
    });
    const out = await h(
      event(record("{oops", "a"), record('{"n":"1"}', "b"), record('{"n":3}', "c"), record('{"n":4}', "d")),
      context,
    );
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: "a" }, { itemIdentifier: "b" }, { itemIdentifier: "c" }]);
    expect(seen).toEqual([4]);
  });
});

describe("health worker", () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  afterEach(() => ddb.reset());

  const recorded = () =>
    ddb.commandCalls(UpdateCommand).map((c) => {
      const input = c.args[0].input;
      return { key: input.Key, detail: input.ExpressionAttributeValues?.[":detail"] };
    });

  it("records heartbeats, pings, S3 drops (keys decoded) and S3's test event", async () => {
    ddb.on(UpdateCommand).resolves({});
    const s3Record = normalizeRecord(
      {
        eventVersion: "2.0",
        eventSource: "aws:s3",
        awsRegion: "us-east-1",
        eventTime: "2024-01-01T00:00:00.000Z",
        eventName: "ObjectCreated:Put",
        userIdentity: { principalId: "x" },
        requestParameters: { sourceIPAddress: "127.0.0.1" },
        responseElements: { "x-amz-request-id": "r", "x-amz-id-2": "i" },
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "c",
          bucket: { name: "uploads", ownerIdentity: { principalId: "o" }, arn: "arn:aws:s3: : :uploads" },
          object: { key: "imports/t1/a b+(1).csv", size: 5, eTag: "e", sequencer: "01" },
        },
      },
      "cfg",
    );
    const out = await healthWorker(
      event(
        record(JSON.stringify({ kind: "heartbeat", scheduledAt: "2024-01-01T00:05:00.000Z" }), "1"),
        record(JSON.stringify({ kind: "ping", id: "p" }), "2"),
        record(JSON.stringify({ Records: [s3Record] }), "3"),
        record(
          JSON.stringify({
            Service: "Amazon S3",
            Event: "s3:TestEvent",
            Time: "2024-01-01T00:00:00Z",
            Bucket: "uploads",
            RequestId: "r",
            HostId: "h",
          }),
          "4",
        ),
      ),
      context,
    );
    expect(out.batchItemFailures).toEqual([]);
    expect(recorded()).toEqual([
      { key: { PK: "SYS#HEALTH", SK: "heartbeat" }, detail: { scheduledAt: "2024-01-01T00:05:00.000Z" } },
      { key: { PK: "SYS#HEALTH", SK: "ping" }, detail: { id: "p" } },
      {
        key: { PK: "SYS#HEALTH", SK: "s3" },
        detail: { bucket: "uploads", key: "imports/t1/a b+(1).csv", eventName: "ObjectCreated:Put", size: 5 },
      },
      { key: { PK: "SYS#HEALTH", SK: "s3-test" }, detail: { bucket: "uploads" } },
    ]);
  });

  it("fails a message it does not know, leaving it for the DLQ", async () => {
    ddb.on(UpdateCommand).resolves({});
    const out = await healthWorker(event(record(JSON.stringify({ kind: "unknown" }), "x")), context);
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: "x" }]);
    expect(recorded()).toEqual([]);
  });
});

describe("S3 event records", () => {
  it("look like S3's own: encoded key, bucket ARN, event version", () => {
    const r = normalizeRecord(
      {
        eventVersion: "2.0",
        eventSource: "aws:s3",
        awsRegion: "us-east-1",
        eventTime: "t",
        eventName: "ObjectCreated:Put",
        userIdentity: { principalId: "x" },
        requestParameters: { sourceIPAddress: "127.0.0.1" },
        responseElements: { "x-amz-request-id": "r", "x-amz-id-2": "i" },
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "testConfigId",
          bucket: { name: "uploads", ownerIdentity: { principalId: "o" }, arn: "arn:aws:s3: : :uploads" },
          object: { key: "imports/t1/客户 list (1).csv", size: 1, eTag: "e", sequencer: "01" },
        },
      },
      "cfg-1",
    );
    expect(r).toMatchObject({
      eventVersion: "2.1",
      s3: {
        configurationId: "cfg-1",
        bucket: { arn: "arn:aws:s3:::uploads" },
        object: { key: "imports/t1/%E5%AE%A2%E6%88%B7+list+%281%29.csv" },
      },
    });
  });
});
