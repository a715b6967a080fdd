// The local SQS + event source mapping: what a worker sees, and what happens to messages it fails, as on Lambda.
import type { SQSEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import type { QueueDef } from "../../../functions/manifest.ts";
import type { SqsHandler } from "../../../local/sqs/event-source.ts";
import { LocalSqs } from "../../../local/sqs/local-sqs.ts";
import { md5Hex } from "../../../local/sqs/md5.ts";
import { memoryLog, tempDir, until } from "./helpers.ts";

const def = (over: Partial<QueueDef> = {}): QueueDef => ({
  worker: "functions/workers/fake.ts",
  table: "none",
  timeoutSeconds: 1,
  batchSize: 10,
  maxReceiveCount: 3,
  ...over,
});

/** A LocalSqs with one queue `jobs` whose worker is `handler`; visibility 6 x 1 s x 0.02 = 120 ms. */
async function open(dir: string, handler: SqsHandler, over: Partial<QueueDef> = {}) {
  const log = memoryLog();
  const sqs = await LocalSqs.open({
    dir,
    queues: { jobs: def(over) },
    endpoint: "http://127.0.0.1:9",
    visibilityScale: 0.02,
    loadHandler: async () => handler,
    log,
  });
  return { sqs, log };
}

/** Records every event the worker gets; `decide` returns the ids to fail, or throws. */
function worker(decide: (event: SQSEvent, call: number) => string[] = () => []) {
  const events: SQSEvent[] = [];
  const handler: SqsHandler = async (event) => {
    events.push(event);
    const failed = decide(event, events.length);
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
  const bodies = () => events.map((e) => e.Records.map((r) => r.body));
  return { events, handler, bodies };
}

describe("delivery", () => {
  it("hands the worker a Lambda-shaped SQS event and deletes what it handled", async () => {
    const w = worker();
    const { sqs } = await open(await tempDir(), w.handler);
    await sqs.send("jobs", {
      body: '{"n":1}',
      messageAttributes: { trace: { DataType: "String", StringValue: "abc" } },
    });
    sqs.start();
    await sqs.waitIdle({ untilEmpty: true });
    await sqs.stop();

    expect(w.events).toHaveLength(1);
    const [record] = w.events[0]!.Records;
    expect(record).toMatchObject({
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      body: '{"n":1}',
      md5OfBody: md5Hex('{"n":1}'),
      md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:jobs",
      awsRegion: "us-east-1",
      messageAttributes: {
        trace: { stringValue: "abc", stringListValues: [], binaryListValues: [], dataType: "String" },
      },
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: expect.stringMatching(/^\d+$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d+$/),
      },
    });
    expect(sqs.stats().jobs).toMatchObject({ visible: 0, inFlight: 0, total: 0, dlq: 0 });
  });

  it("delivers in batches of at most batchSize", async () => {
    const w = worker();
    const { sqs } = await open(await tempDir(), w.handler, { batchSize: 2 });
    for (let i = 0; i < 5; i++) await sqs.send("jobs", { body: `m${i}` });
    sqs.start();
    await sqs.waitIdle({ untilEmpty: true });
    await sqs.stop();
    expect(w.events.every((e) => e.Records.length <= 2)).toBe(true);
    expect(w.bodies().flat().sort()).toEqual(["m0", "m1", "m2", "m3", "m4"]);
  });
});

describe("failures", () => {
  it("keeps a failed message hidden for the visibility timeout, then delivers it again with a higher receive count", async () => {
    const w = worker((e, call) => (call === 1 ? [e.Records[0]!.messageId] : []));
    const { sqs } = await open(await tempDir(), w.handler);
    await sqs.send("jobs", { body: "retry me" });
    sqs.start();
    await sqs.waitIdle();
    // Handled once and failed: not visible, not deleted.
    expect(w.events).toHaveLength(1);
    expect(sqs.stats().jobs).toMatchObject({ visible: 0, inFlight: 1 });

    await sqs.waitIdle({ untilEmpty: true });
    await sqs.stop();
    expect(w.events).toHaveLength(2);
    expect(w.events[1]!.Records[0]).toMatchObject({ body: "retry me", attributes: { ApproximateReceiveCount: "2" } });
    expect(w.events[1]!.Records[0]!.messageId).toBe(w.events[0]!.Records[0]!.messageId);
  });

  it("redelivers only the messages named in batchItemFailures", async () => {
    const w = worker((e, call) => (call === 1 ? e.Records.filter((r) => r.body === "b").map((r) => r.messageId) : []));
    const { sqs } = await open(await tempDir(), w.handler);
    for (const body of ["a", "b", "c"]) await sqs.send("jobs", { body });
    sqs.start();
    await sqs.waitIdle({ untilEmpty: true });
    await sqs.stop();
    expect(w.bodies()).toEqual([["a", "b", "c"], ["b"]]);
  });

  it("redelivers the whole batch when the handler throws", async () => {
    let calls = 0;
    const seen: string[][] = [];
    const handler: SqsHandler = async (event) => {
      seen.push(event.Records.map((r) => r.body));
      if (++calls === 1) throw new Error("database unavailable");
    };
    const { sqs, log } = await open(await tempDir(), handler);
    for (const body of ["a", "b"]) await sqs.send("jobs", { body });
    sqs.start();
    await sqs.waitIdle({ untilEmpty: true });
    await sqs.stop();
    expect(seen.map((b) => [...b].sort())).toEqual([
      ["a", "b"],
      ["a", "b"],
    ]);
    expect(log.lines.some((l) => l.includes("database unavailable"))).toBe(true);
  });

  it("treats an unknown itemIdentifier as a failure of the whole batch, as Lambda does", async () => {
    let calls = 0;
    const seen: number[] = [];
    const handler: SqsHandler = async (event) => {
      seen.push(event.Records.length);
      return calls++ === 0 ? { batchItemFailures: [{ itemIdentifier: "no-such-id" }] } : undefined;
    };
    const { sqs } = await open(await tempDir(), handler);
    for (const body of ["a", "b"]) await sqs.send("jobs", { body });
    sqs.start();
    await sqs.waitIdle({ untilEmpty: true });
    await sqs.stop();
    expect(seen).toEqual([2, 2]);
  });

  it("moves a message to the DLQ after maxReceiveCount receives and says why", async () => {
    const handler: SqsHandler = async () => {
      throw new Error("cannot parse row 7");
    };
    const dir = await tempDir();
    const { sqs, log } = await open(dir, handler, { maxReceiveCount: 2 });
    const sent = await sqs.send("jobs", { body: "poison" });
    sqs.start();
    await sqs.waitIdle({ untilEmpty: true });
    await sqs.stop();

    expect(sqs.invocations("jobs")).toBe(2);
    expect(sqs.stats().jobs).toMatchObject({ total: 0, dlq: 1 });
    const [dead] = sqs.queue("jobs-dlq")!.peek();
    expect(dead).toMatchObject({
      messageId: sent.messageId,
      body: "poison",
      deadLetterSourceArn: "arn:aws:sqs:us-east-1:000000000000:jobs",
    });
    const line = log.lines.find((l) => l.includes("moved to jobs-dlq"));
    expect(line).toContain("after 2 receives");
    expect(line).toContain("cannot parse row 7");
  });

  it("fails the batch of a worker module that cannot be loaded, without stopping the queue", async () => {
    const log = memoryLog();
    const sqs = await LocalSqs.open({
      dir: await tempDir(),
      queues: { jobs: def({ maxReceiveCount: 1 }) },
      endpoint: "http://127.0.0.1:9",
      visibilityScale: 0.02,
      loadHandler: () => Promise.reject(new Error("Cannot find module functions/workers/fake.ts")),
      log,
    });
    await sqs.send("jobs", { body: "x" });
    sqs.start();
    await sqs.waitIdle({ untilEmpty: true });
    await sqs.stop();
    expect(sqs.stats().jobs!.dlq).toBe(1);
    expect(log.lines.some((l) => l.includes("Cannot find module"))).toBe(true);
  });
});

describe("persistence", () => {
  it("keeps queued and dead-lettered messages across a restart", async () => {
    const dir = await tempDir();
    const idle = worker();
    const first = await open(dir, idle.handler);
    await first.sqs.send("jobs", {
      body: "survives",
      messageAttributes: { k: { DataType: "Number", StringValue: "1" } },
    });
    await first.sqs.send("jobs-dlq", { body: "dead one" });
    await first.sqs.stop(); // never started: nothing was delivered
    expect(idle.events).toHaveLength(0);

    const w = worker();
    const second = await open(dir, w.handler);
    expect(second.sqs.stats().jobs).toMatchObject({ visible: 1, dlq: 1 });
    second.sqs.start();
    await second.sqs.waitIdle({ untilEmpty: true });
    await second.sqs.stop();
    expect(w.events[0]!.Records[0]).toMatchObject({
      body: "survives",
      messageAttributes: { k: { stringValue: "1", dataType: "Number" } },
    });
  });

  it("keeps a received but unfinished message, which comes back after its visibility timeout", async () => {
    const dir = await tempDir();
    let started = false;
    // 5 s function timeout, so the handler is still running when we stop; visibility 6 x 5 s x 0.02 = 600 ms.
    const first = await open(
      dir,
      async () => {
        started = true;
        await new Promise(() => undefined); // never finishes: as if the process died while it ran
      },
      { timeoutSeconds: 5 },
    );
    await first.sqs.send("jobs", { body: "in flight at shutdown" });
    first.sqs.start();
    await until(() => started, "the first delivery");
    expect(first.sqs.stats().jobs).toMatchObject({ visible: 0, inFlight: 1 });
    await first.sqs.stop({ graceMs: 0 });

    const w = worker();
    const second = await open(dir, w.handler, { timeoutSeconds: 5 });
    second.sqs.start();
    await second.sqs.waitIdle({ untilEmpty: true });
    await second.sqs.stop();
    expect(w.events.flatMap((e) => e.Records.map((r) => r.body))).toEqual(["in flight at shutdown"]);
  });
});
