// The local event source mapping: polls one queue and invokes its worker's handler with Lambda's SQS event,
// honouring partial batch failures exactly as Lambda does (ReportBatchItemFailures on).
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { LOCAL_REGION, lambdaContext, withTimeout } from "../lambda/context.ts";
import { type LocalLog, errorMessage } from "../util/log.ts";
import type { MessageQueue, StoredMessage } from "./queue.ts";

export type SqsHandler = (
  event: SQSEvent,
  context: Context,
) => Promise<SQSBatchResponse | void | null | undefined> | unknown;

export interface EventSourceOptions {
  functionName: string;
  batchSize: number;
  visibilityTimeoutMs: number;
  functionTimeoutMs: number;
  /** Batches invoked at the same time (Lambda scales pollers out; a few is plenty locally). */
  maxConcurrency?: number;
  loadHandler: () => Promise<SqsHandler>;
  log: LocalLog;
}

/** The SQS record Lambda builds from a received message. */
export function toSqsRecord(m: StoredMessage, queue: { arn: string }): SQSRecord {
  const attributes: SQSRecord["attributes"] = {
    ApproximateReceiveCount: String(m.receiveCount),
    SentTimestamp: String(m.sentTimestamp),
    SenderId: m.senderId,
    ApproximateFirstReceiveTimestamp: String(m.firstReceiveTimestamp ?? m.sentTimestamp),
  };
  if (m.deadLetterSourceArn) attributes.DeadLetterQueueSourceArn = m.deadLetterSourceArn;
  const messageAttributes: SQSRecord["messageAttributes"] = {};
  for (const [name, a] of Object.entries(m.messageAttributes ?? {})) {
    messageAttributes[name] = {
      ...(a.StringValue !== undefined ? { stringValue: a.StringValue } : {}),
      ...(a.BinaryValue !== undefined ? { binaryValue: a.BinaryValue } : {}),
      stringListValues: [],
      binaryListValues: [],
      dataType: a.DataType,
    };
  }
  const record: SQSRecord = {
    messageId: m.messageId,
    receiptHandle: m.receiptHandle ?? "",
    body: m.body,
    attributes,
    messageAttributes,
    md5OfBody: m.md5OfBody,
    eventSource: "aws:sqs",
    eventSourceARN: queue.arn,
    awsRegion: LOCAL_REGION,
  };
  if (m.md5OfMessageAttributes) record.md5OfMessageAttributes = m.md5OfMessageAttributes;
  return record;
}

type Outcome = { ok: true; failedIds: string[] } | { ok: false; reason: string };

/** Reads a handler's result as Lambda does: nothing or an empty list = all done; a bad identifier = whole batch failed. */
export function readBatchResponse(result: unknown, batchIds: readonly string[]): Outcome {
  if (result === undefined || result === null || typeof result !== "object") return { ok: true, failedIds: [] };
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { ok: true, failedIds: [] };
  if (!Array.isArray(failures)) return { ok: false, reason: "batchItemFailures is not a list" };
  const ids = new Set(batchIds);
  const failedIds: string[] = [];
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== "string" || id === "" || !ids.has(id)) {
      return { ok: false, reason: `batchItemFailures has an invalid itemIdentifier (${JSON.stringify(id)})` };
    }
    failedIds.push(id);
  }
  return { ok: true, failedIds };
}

export class EventSource {
  private running = 0;
  private readonly inflight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private pumpQueued = false;
  private stopped = true;
  /** Number of handler invocations so far (for tests and /_local/info). */
  invocations = 0;

  constructor(
    readonly queue: MessageQueue,
    private readonly opts: EventSourceOptions,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.queue.onChange = () => this.schedulePump();
    this.schedulePump();
  }

  /** Stops polling and waits (up to `graceMs`) for running invocations; their messages stay in the queue if unfinished. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    this.queue.onChange = undefined;
    clearTimeout(this.timer);
    if (this.inflight.size) {
      await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => setTimeout(r, graceMs).unref())]);
    }
  }

  /** True when no invocation runs and nothing is visible to deliver. */
  get idle(): boolean {
    return this.running === 0 && this.queue.stats().visible === 0;
  }

  get active(): number {
    return this.running;
  }

  private schedulePump(): void {
    if (this.pumpQueued || this.stopped) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped) return;
    const max = this.opts.maxConcurrency ?? 4;
    while (this.running < max) {
      const batch = this.queue.receive(this.opts.batchSize, this.opts.visibilityTimeoutMs);
      if (batch.length === 0) break;
      this.queue.hold(batch.map((m) => m.messageId));
      this.running += 1;
      const p = this.invoke(batch).finally(() => {
        this.running -= 1;
        this.inflight.delete(p);
        this.queue.release(batch.map((m) => m.messageId));
        this.schedulePump();
      });
      this.inflight.add(p);
    }
    this.armTimer();
  }

  /** Wakes up when the next hidden message becomes visible again. */
  private armTimer(): void {
    clearTimeout(this.timer);
    const next = this.queue.nextVisibleAt();
    if (next === undefined || this.stopped) return;
    this.timer = setTimeout(() => this.schedulePump(), Math.min(Math.max(next - Date.now(), 0) + 5, 2 ** 31 - 1));
    this.timer.unref();
  }

  private async invoke(batch: StoredMessage[]): Promise<void> {
    const { functionName, functionTimeoutMs, log } = this.opts;
    const records = batch.map((m) => toSqsRecord(m, this.queue));
    const ids = records.map((r) => r.messageId);
    this.invocations += 1;
    let outcome: Outcome;
    try {
      const handler = await this.opts.loadHandler();
      const context = lambdaContext({ functionName, timeoutMs: functionTimeoutMs });
      const result = await withTimeout(Promise.resolve(handler({ Records: records }, context)), functionTimeoutMs);
      outcome = readBatchResponse(result, ids);
    } catch (err) {
      outcome = { ok: false, reason: `handler failed: ${errorMessage(err)}` };
    }
    const failed = new Set(outcome.ok ? outcome.failedIds : ids);
    for (const r of records) {
      if (failed.has(r.messageId)) {
        this.queue.recordFailure(
          r.messageId,
          outcome.ok ? "the handler reported it in batchItemFailures (its own log says why)" : outcome.reason,
        );
      } else {
        this.queue.delete(r.receiptHandle);
      }
    }
    if (!outcome.ok) {
      log.warn(
        `${this.queue.name}: ${outcome.reason}; the batch of ${ids.length} returns to the queue after its visibility timeout`,
      );
    } else if (failed.size) {
      log.info(
        `${this.queue.name}: ${failed.size} of ${ids.length} messages reported failed; they return after the visibility timeout`,
      );
    }
  }
}
