// What the workers receive in tests: an SQS event carrying one message (a job's, unless another queue is named), and a
// Lambda context whose remaining time a test controls (to make a run stop early, continue, or crash).
import type { Context, SQSEvent, SQSRecord } from "aws-lambda";

/** Remaining time that never runs short. */
export const PLENTY = 60_000;
let seq = 0;

/** One SQS record of `queue` carrying `body` as it is, on its `receiveCount`-th delivery. */
export function sqsRecord(
  body: string,
  opts: { receiveCount?: number; messageId?: string; queue?: string } = {},
): SQSRecord {
  const messageId = opts.messageId ?? `m-${++seq}`;
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(opts.receiveCount ?? 1),
      SentTimestamp: "1",
      SenderId: "test",
      ApproximateFirstReceiveTimestamp: "1",
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${opts.queue ?? "jobs"}`,
    awsRegion: "us-east-1",
  };
}

/** One message (`msg` as JSON) as a queue (the jobs queue unless named) delivers it, on its `receiveCount`-th delivery. */
export function sqsEvent(msg: unknown, receiveCount = 1, messageId?: string, queue?: string): SQSEvent {
  return { Records: [sqsRecord(JSON.stringify(msg), { receiveCount, messageId, queue })] };
}

/** A Lambda context whose remaining time is whatever `remaining(n)` says on its n-th reading (from 1). */
export function fakeContext(remaining: (n: number) => number = () => PLENTY): Context {
  let n = 0;
  return {
    awsRequestId: `req-${++seq}`,
    functionName: "jobs-worker",
    getRemainingTimeInMillis: () => remaining(++n),
  } as Context;
}
