// The local SQS endpoint, driven by the real @aws-sdk/client-sqs (JSON protocol; the SDK checks the body MD5s).
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  DeleteMessageCommand,
  SQSClient,
  SendMessageBatchCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startSqsEndpoint } from "../../../local/sqs/endpoint.ts";
import { LocalSqs } from "../../../local/sqs/local-sqs.ts";
import { md5OfMessageAttributes } from "../../../local/sqs/md5.ts";
import { memoryLog, tempDir } from "./helpers.ts";

let sqs: LocalSqs;
let endpoint: Awaited<ReturnType<typeof startSqsEndpoint>>;
let client: SQSClient;
let url: string;

beforeEach(async () => {
  let current: LocalSqs | undefined;
  endpoint = await startSqsEndpoint({ host: "127.0.0.1", getSqs: () => current });
  // No worker is started: messages stay where the SDK puts them.
  sqs = current = await LocalSqs.open({
    dir: await tempDir(),
    queues: { jobs: { worker: "w.ts", table: "none", timeoutSeconds: 30, batchSize: 10, maxReceiveCount: 3 } },
    endpoint: endpoint.url,
    loadHandler: async () => async () => undefined,
    log: memoryLog(),
  });
  client = new SQSClient({
    endpoint: endpoint.url,
    region: "us-east-1",
    credentials: { accessKeyId: "k", secretAccessKey: "s" },
  });
  url = sqs.urls().jobs!;
});

afterEach(async () => {
  client.destroy();
  await sqs.stop();
  await endpoint.close();
});

const counts = async (queueUrl = url) => {
  const out = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return out.Attributes;
};

describe("local SQS endpoint with the AWS SDK", () => {
  it("names queue URLs like SQS and finds them by name", async () => {
    expect(url).toBe(`${endpoint.url}/000000000000/jobs`);
    const out = await client.send(new GetQueueUrlCommand({ QueueName: "jobs-dlq" }));
    expect(out.QueueUrl).toBe(`${endpoint.url}/000000000000/jobs-dlq`);
  });

  it("sends a message with attributes and answers the digests the SDK verifies", async () => {
    const attrs = { tenant: { DataType: "String", StringValue: "t1" }, n: { DataType: "Number", StringValue: "3" } };
    const out = await client.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: '{"kind":"ping"}', MessageAttributes: attrs }),
    );
    expect(out.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.MD5OfMessageAttributes).toBe(md5OfMessageAttributes(attrs));
    expect(await counts()).toEqual({ ApproximateNumberOfMessages: "1", ApproximateNumberOfMessagesNotVisible: "0" });
  });

  it("sends a batch, failing only the bad entry", async () => {
    const out = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: "a", MessageBody: "one" },
          { Id: "b", MessageBody: "" },
          { Id: "c", MessageBody: "three" },
        ],
      }),
    );
    expect(out.Successful?.map((s) => s.Id)).toEqual(["a", "c"]);
    expect(out.Failed).toEqual([expect.objectContaining({ Id: "b", SenderFault: true })]);
    expect((await counts())?.ApproximateNumberOfMessages).toBe("2");
  });

  it("counts received messages as not visible, and deletes by receipt handle", async () => {
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x" }));
    const got = await client.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    expect(got.Messages?.map((m) => m.Body)).toEqual(["x"]);
    expect(await counts()).toEqual({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "1" });
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: got.Messages![0]!.ReceiptHandle! }));
    expect(await counts()).toEqual({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
  });

  it("purges a queue", async () => {
    for (const body of ["1", "2", "3"]) await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    await client.send(new PurgeQueueCommand({ QueueUrl: url }));
    expect((await counts())?.ApproximateNumberOfMessages).toBe("0");
  });

  it("reports the queue's redrive policy to its DLQ", async () => {
    const out = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }));
    expect(JSON.parse(out.Attributes!.RedrivePolicy!)).toEqual({
      deadLetterTargetArn: "arn:aws:sqs:us-east-1:000000000000:jobs-dlq",
      maxReceiveCount: 3,
    });
  });

  it("throws the SDK's QueueDoesNotExist for an unknown queue", async () => {
    const sending = client.send(
      new SendMessageCommand({ QueueUrl: `${endpoint.url}/000000000000/nope`, MessageBody: "x" }),
    );
    await expect(sending).rejects.toBeInstanceOf(QueueDoesNotExist);
  });

  it("rejects characters SQS does not allow in a body", async () => {
    await expect(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "a\u0000b" }))).rejects.toMatchObject(
      {
        name: "InvalidMessageContents",
      },
    );
    const ok = await client.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: "tab\tnewline\n emoji 😀 中文" }),
    );
    expect(ok.MessageId).toBeDefined();
  });

  it("rejects an empty body as SQS does", async () => {
    await expect(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "" }))).rejects.toMatchObject({
      name: "MissingParameter",
    });
  });
});
