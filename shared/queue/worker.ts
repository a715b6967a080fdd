// The one way workers consume SQS: records handled one by one, each body parsed (JSON + zod), failures reported as
// partial batch failures so only they are retried; a message that keeps failing ends in the DLQ with its reason logged.
import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type * as z from "zod";
import { logger } from "../log/logger.ts";

/** Thrown (or reported) when a message can never succeed: bad JSON or a body that does not fit the schema. */
export class PoisonMessageError extends Error {
  override readonly name = "PoisonMessageError";
}

/** Parses a record's body as JSON and then with `schema`; throws PoisonMessageError naming what is wrong. */
export function parseBody<S extends z.ZodType>(schema: S, record: SQSRecord): z.output<S> {
  let data: unknown;
  try {
    data = JSON.parse(record.body);
  } catch {
    throw new PoisonMessageError("body is not valid JSON");
  }
  const result = schema.safeParse(data);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new PoisonMessageError(`body does not match the message schema: ${detail}`);
  }
  return result.data;
}

export type RecordHandler<T> = (body: T, record: SQSRecord, context: Context) => Promise<void>;

export type SqsWorkerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * Builds a Lambda SQS handler (ReportBatchItemFailures) that parses each record with `schema` and passes it to
 * `handleOne`. A record that fails to parse or whose handling throws is logged with its reason and returned in
 * batchItemFailures; the others count as done.
 */
export function sqsWorker<S extends z.ZodType>(schema: S, handleOne: RecordHandler<z.output<S>>): SqsWorkerHandler {
  return async (event, context) => {
    logger.resetKeys();
    logger.addContext(context);
    const batchItemFailures: SQSBatchItemFailure[] = [];
    for (const record of event.Records) {
      const receiveCount = Number(record.attributes?.ApproximateReceiveCount ?? 1);
      const keys = { messageId: record.messageId, receiveCount, queue: record.eventSourceARN };
      try {
        const body = parseBody(schema, record);
        await handleOne(body, record, context);
      } catch (err) {
        const poison = err instanceof PoisonMessageError;
        logger.error(
          poison ? "poison message: it cannot succeed and will end in the DLQ" : "message failed; it will be retried",
          {
            ...keys,
            reason: err instanceof Error ? err.message : String(err),
            error: err instanceof Error ? err : undefined,
          },
        );
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  };
}
