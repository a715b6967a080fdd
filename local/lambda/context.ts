// A Lambda-like invocation context for handlers run in-process.
import { randomBytes, randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

export const LOCAL_ACCOUNT_ID = "000000000000";
export const LOCAL_REGION = "us-east-1";

export function lambdaContext(opts: {
  functionName: string;
  timeoutMs: number;
  memoryMb?: number;
  requestId?: string;
}): Context {
  const deadline = Date.now() + opts.timeoutMs;
  const day = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
  const fail = (err: Error | string) => {
    throw typeof err === "string" ? new Error(err) : err;
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: opts.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${opts.functionName}`,
    memoryLimitInMB: String(opts.memoryMb ?? 1024),
    awsRequestId: opts.requestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${opts.functionName}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString("hex")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: (err?: Error) => {
      if (err) fail(err);
    },
    fail,
    succeed: () => undefined,
  };
}

/** Lambda's function name for a manifest unit, locally. */
export function localFunctionName(kind: "http" | "worker", name: string): string {
  return `customer-master-local-${kind}-${name}`;
}

/** Runs `work` with a deadline: rejects with Lambda's "Task timed out" message if it does not settle in time. */
export async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LambdaTimeoutError(timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class LambdaTimeoutError extends Error {
  override readonly name = "LambdaTimeoutError";
  constructor(timeoutMs: number) {
    super(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
  }
}
