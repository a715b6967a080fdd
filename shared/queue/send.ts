// Sends a message to a queue by its logical name (the keys of QUEUE_URLS); the SDK's endpoint comes from the
// environment (AWS_ENDPOINT_URL_SQS locally), so cloud and local share this code path.
import { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import { env } from "../config/env.ts";

let client: SQSClient | undefined;
const sqs = () => (client ??= new SQSClient({ maxAttempts: 4 }));

/** The URL of a logical queue; throws when this function was not given it (a missing `sendsTo` in the manifest). */
export function queueUrl(name: string): string {
  const url = env.QUEUE_URLS[name];
  if (!url)
    throw new Error(`queue ${name} is not in QUEUE_URLS; add it to the function's sendsTo in functions/manifest.ts`);
  return url;
}

/** Sends `body` as JSON; resolves to the message id. */
export async function sendMessage(queue: string, body: unknown, opts: { delaySeconds?: number } = {}): Promise<string> {
  const out = await sqs().send(
    new SendMessageCommand({
      QueueUrl: queueUrl(queue),
      MessageBody: JSON.stringify(body),
      DelaySeconds: opts.delaySeconds,
    }),
  );
  return out.MessageId ?? "";
}
