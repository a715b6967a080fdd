// The local SQS endpoint: the AWS JSON 1.0 protocol that @aws-sdk/client-sqs v3 speaks (POST /, header
// x-amz-target: AmazonSQS.<Operation>, content-type application/x-amz-json-1.0), backed by LocalSqs.
import { randomUUID } from "node:crypto";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { errorMessage } from "../util/log.ts";
import type { LocalSqs } from "./local-sqs.ts";
import type { MessageAttributeValue } from "./md5.ts";
import { MAX_BODY_BYTES, type MessageQueue, SqsInputError, validateBody } from "./queue.ts";

type Json = Record<string, unknown>;

class SqsError extends Error {
  constructor(
    readonly status: number,
    /** Shape name in the SQS model (becomes the SDK's exception class), e.g. QueueDoesNotExist. */
    readonly type: string,
    /** The old query-protocol code the SDK exposes as `Code` (x-amzn-query-error). */
    readonly queryCode: string,
    message: string,
  ) {
    super(message);
  }
}

const noQueue = () =>
  new SqsError(
    400,
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    "The specified queue does not exist.",
  );
const invalid = (message: string, type = "InvalidParameterValue") => new SqsError(400, type, type, message);

function fromInputError(err: SqsInputError): SqsError {
  return invalid(err.message, err.code);
}

function str(input: Json, key: string, required = true): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) {
    if (required)
      throw new SqsError(400, "MissingParameter", "MissingParameter", `The request must contain the parameter ${key}.`);
    return undefined;
  }
  if (typeof v !== "string") throw invalid(`Value for parameter ${key} is invalid. Reason: must be a string.`);
  return v;
}

function int(input: Json, key: string): number | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v))
    throw invalid(`Value ${String(v)} for parameter ${key} is invalid.`);
  return v;
}

function attributesOf(input: Json): Record<string, MessageAttributeValue> | undefined {
  const raw = input.MessageAttributes;
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== "object") throw invalid("MessageAttributes must be a map.");
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, v] of Object.entries(raw as Record<string, Json>)) {
    const dataType = v?.DataType;
    if (typeof dataType !== "string" || !/^(String|Number|Binary)(\..+)?$/.test(dataType)) {
      throw invalid(`The message attribute '${name}' has an invalid message attribute type.`, "InvalidParameterValue");
    }
    const a: MessageAttributeValue = { DataType: dataType };
    if (typeof v.StringValue === "string") a.StringValue = v.StringValue;
    if (typeof v.BinaryValue === "string") a.BinaryValue = v.BinaryValue;
    if (a.StringValue === undefined && a.BinaryValue === undefined) {
      throw invalid(`The message attribute '${name}' must contain a non-empty message attribute value.`);
    }
    out[name] = a;
  }
  if (Object.keys(out).length > 10) throw invalid("Number of message attributes cannot exceed 10.");
  return out;
}

export class SqsApi {
  constructor(private readonly sqs: LocalSqs) {}

  private queueOf(input: Json): MessageQueue {
    const url = str(input, "QueueUrl")!;
    const q = this.sqs.resolve(url);
    if (!q) throw noQueue();
    return q;
  }

  async call(operation: string, input: Json): Promise<Json> {
    switch (operation) {
      case "GetQueueUrl": {
        const q = this.sqs.queue(str(input, "QueueName")!);
        if (!q) throw noQueue();
        return { QueueUrl: q.url };
      }
      case "ListQueues": {
        const prefix = str(input, "QueueNamePrefix", false) ?? "";
        return { QueueUrls: this.sqs.names.filter((n) => n.startsWith(prefix)).map((n) => this.sqs.queue(n)!.url) };
      }
      case "SendMessage": {
        const q = this.queueOf(input);
        try {
          const m = await q.send({
            body: input.MessageBody as string,
            messageAttributes: attributesOf(input),
            delaySeconds: int(input, "DelaySeconds"),
          });
          const out: Json = { MessageId: m.messageId, MD5OfMessageBody: m.md5OfBody };
          if (m.md5OfMessageAttributes) out.MD5OfMessageAttributes = m.md5OfMessageAttributes;
          return out;
        } catch (err) {
          if (err instanceof SqsInputError) throw fromInputError(err);
          throw err;
        }
      }
      case "SendMessageBatch": {
        const q = this.queueOf(input);
        const entries = input.Entries;
        if (!Array.isArray(entries) || entries.length === 0) {
          throw new SqsError(
            400,
            "EmptyBatchRequest",
            "AWS.SimpleQueueService.EmptyBatchRequest",
            "There should be at least one SendMessageBatchRequestEntry in the request.",
          );
        }
        if (entries.length > 10) {
          throw new SqsError(
            400,
            "TooManyEntriesInBatchRequest",
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
          );
        }
        const ids = entries.map((e: Json) => e?.Id);
        if (new Set(ids).size !== ids.length) {
          throw new SqsError(
            400,
            "BatchEntryIdsNotDistinct",
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            "Two or more batch entries in the request have the same Id.",
          );
        }
        const total = entries.reduce(
          (n: number, e: Json) => n + Buffer.byteLength(String(e?.MessageBody ?? ""), "utf8"),
          0,
        );
        if (total > MAX_BODY_BYTES) {
          throw new SqsError(
            400,
            "BatchRequestTooLong",
            "AWS.SimpleQueueService.BatchRequestTooLong",
            `Batch requests cannot be longer than ${MAX_BODY_BYTES} bytes.`,
          );
        }
        const Successful: Json[] = [];
        const Failed: Json[] = [];
        for (const e of entries as Json[]) {
          const Id = e.Id;
          if (typeof Id !== "string" || !/^[A-Za-z0-9_-]{1,80}$/.test(Id)) {
            throw new SqsError(
              400,
              "InvalidBatchEntryId",
              "AWS.SimpleQueueService.InvalidBatchEntryId",
              "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            );
          }
          try {
            validateBody(e.MessageBody);
            const m = await q.send({
              body: e.MessageBody,
              messageAttributes: attributesOf(e),
              delaySeconds: int(e, "DelaySeconds"),
            });
            const ok: Json = { Id, MessageId: m.messageId, MD5OfMessageBody: m.md5OfBody };
            if (m.md5OfMessageAttributes) ok.MD5OfMessageAttributes = m.md5OfMessageAttributes;
            Successful.push(ok);
          } catch (err) {
            if (err instanceof SqsInputError)
              Failed.push({ Id, SenderFault: true, Code: err.code, Message: err.message });
            else if (err instanceof SqsError)
              Failed.push({ Id, SenderFault: true, Code: err.type, Message: err.message });
            else throw err;
          }
        }
        return { Successful, Failed };
      }
      case "ReceiveMessage": {
        const q = this.queueOf(input);
        const max = int(input, "MaxNumberOfMessages") ?? 1;
        if (max < 1 || max > 10)
          throw invalid(
            `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`,
          );
        const visibility = int(input, "VisibilityTimeout") ?? 30;
        const wait = Math.min(int(input, "WaitTimeSeconds") ?? 0, 20);
        const deadline = Date.now() + wait * 1000;
        let got = q.receive(max, visibility * 1000);
        while (got.length === 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          got = q.receive(max, visibility * 1000);
        }
        return {
          Messages: got.map((m) => {
            const out: Json = {
              MessageId: m.messageId,
              ReceiptHandle: m.receiptHandle,
              Body: m.body,
              MD5OfBody: m.md5OfBody,
              Attributes: {
                ApproximateReceiveCount: String(m.receiveCount),
                SentTimestamp: String(m.sentTimestamp),
                SenderId: m.senderId,
                ApproximateFirstReceiveTimestamp: String(m.firstReceiveTimestamp ?? m.sentTimestamp),
                ...(m.deadLetterSourceArn ? { DeadLetterQueueSourceArn: m.deadLetterSourceArn } : {}),
              },
            };
            if (m.messageAttributes) {
              out.MessageAttributes = m.messageAttributes;
              out.MD5OfMessageAttributes = m.md5OfMessageAttributes;
            }
            return out;
          }),
        };
      }
      case "DeleteMessage": {
        const q = this.queueOf(input);
        q.delete(str(input, "ReceiptHandle")!);
        return {};
      }
      case "ChangeMessageVisibility": {
        const q = this.queueOf(input);
        const seconds = int(input, "VisibilityTimeout") ?? 0;
        if (!q.changeVisibility(str(input, "ReceiptHandle")!, seconds * 1000)) {
          throw new SqsError(
            400,
            "ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid",
            "The input receipt handle is invalid.",
          );
        }
        return {};
      }
      case "GetQueueAttributes": {
        const q = this.queueOf(input);
        const wanted = Array.isArray(input.AttributeNames) ? (input.AttributeNames as string[]) : [];
        const s = q.stats();
        const all: Record<string, string> = {
          QueueArn: q.arn,
          ApproximateNumberOfMessages: String(s.visible),
          ApproximateNumberOfMessagesNotVisible: String(s.inFlight),
          ApproximateNumberOfMessagesDelayed: String(s.delayed),
          DelaySeconds: "0",
          MaximumMessageSize: String(MAX_BODY_BYTES),
          MessageRetentionPeriod: "345600",
        };
        if (q.redrive) {
          all.RedrivePolicy = JSON.stringify({
            deadLetterTargetArn: q.redrive.target.arn,
            maxReceiveCount: q.redrive.maxReceiveCount,
          });
        }
        const pick = wanted.includes("All") ? Object.keys(all) : wanted.filter((n) => n in all);
        return { Attributes: Object.fromEntries(pick.map((n) => [n, all[n]!])) };
      }
      case "PurgeQueue": {
        this.queueOf(input).purge();
        return {};
      }
      default:
        throw new SqsError(
          400,
          "UnsupportedOperation",
          "AWS.SimpleQueueService.UnsupportedOperation",
          `The local SQS does not implement ${operation}.`,
        );
    }
  }
}

function send(res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/x-amz-json-1.0",
    "content-length": Buffer.byteLength(text),
    "x-amzn-requestid": randomUUID(),
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw invalid("Request is too large.");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Handles one HTTP request of the JSON protocol. */
export async function handleSqsRequest(api: SqsApi, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const target = String(req.headers["x-amz-target"] ?? "");
    if (req.method !== "POST" || !target.startsWith("AmazonSQS.")) {
      throw new SqsError(
        400,
        "InvalidAction",
        "InvalidAction",
        "The local SQS only speaks the JSON protocol (POST with x-amz-target: AmazonSQS.<Operation>).",
      );
    }
    const text = await readBody(req, 2 * 1024 * 1024);
    let input: Json;
    try {
      input = text.trim() ? (JSON.parse(text) as Json) : {};
    } catch {
      throw new SqsError(
        400,
        "SerializationException",
        "SerializationException",
        "The request body is not valid JSON.",
      );
    }
    send(res, 200, await api.call(target.slice("AmazonSQS.".length), input));
  } catch (err) {
    if (err instanceof SqsError) {
      send(
        res,
        err.status,
        { __type: `com.amazonaws.sqs#${err.type}`, message: err.message },
        {
          "x-amzn-query-error": `${err.queryCode};Sender`,
        },
      );
    } else {
      send(
        res,
        500,
        { __type: "com.amazonaws.sqs#InternalError", message: errorMessage(err) },
        {
          "x-amzn-query-error": "InternalError;Receiver",
        },
      );
    }
  }
}

/** Listens on host:port (0 = any free port) and serves the JSON protocol for whatever LocalSqs `getSqs()` returns. */
export async function startSqsEndpoint(opts: {
  host: string;
  port?: number;
  getSqs: () => LocalSqs | undefined;
}): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const sqs = opts.getSqs();
    if (!sqs) {
      send(res, 503, { __type: "com.amazonaws.sqs#ServiceUnavailable", message: "starting" });
      return;
    }
    void handleSqsRequest(new SqsApi(sqs), req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const url = `http://${opts.host}:${port}`;
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
