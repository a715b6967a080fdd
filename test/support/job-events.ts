// What the jobs worker receives in tests: an SQS event carrying one job message, and a Lambda context whose remaining
// time a test controls (to make a run stop early, continue, or crash).
import type { Context, SQSEvent } from "aws-lambda";
import type { JobMessage } from "../../shared/domain/jobs/schemas.ts";

/** Remaining time that never runs short. */
export const PLENTY = 60_000;
let seq = 0;

/** One job message as the jobs queue delivers it, on its `receiveCount`-th delivery. */
export function sqsEvent(msg: JobMessage, receiveCount = 1, messageId = `m-${++seq}`): SQSEvent {
  return {
    Records: [
      {
        messageId,
        receiptHandle: `rh-${messageId}`,
        body: JSON.stringify(msg),
        attributes: {
          ApproximateReceiveCount: String(receiveCount),
          SentTimestamp: "1",
          SenderId: "test",
          ApproximateFirstReceiveTimestamp: "1",
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:jobs",
        awsRegion: "us-east-1",
      },
    ],
  };
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
