// Local S3 (s3rver on loopback) with the buckets the functions use; its object events become S3 event notifications
// sent to SQS exactly as S3 -> SQS delivers them in the cloud: the message body is `{"Records":[record]}`.
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import type { Server } from "node:http";
import type { S3EventRecord } from "aws-lambda";
import type { S3NotificationDef } from "../functions/manifest.ts";
import { LOCAL_REGION } from "./lambda/context.ts";
import { type LocalLog, errorMessage } from "./util/log.ts";

const require = createRequire(import.meta.url);

interface S3rverInstance {
  run(): Promise<{ port: number; address: string }>;
  close(): Promise<void>;
  on(event: "event", listener: (e: { Records: S3EventRecord[] }) => void): void;
  httpServer?: Server;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverInstance;

const S3rver = require("s3rver") as S3rverCtor;
const AWSAccount = require("s3rver/lib/models/account.js") as {
  registry: Map<string, unknown>;
  DUMMY_ACCOUNT: unknown;
};

/**
 * s3rver only knows the access key S3RVER; let it take any key, as it does not check SigV4 signatures anyway.
 * The handlers sign with whatever AWS_ACCESS_KEY_ID they have, and tests use their own.
 */
function acceptAnyAccessKey(): void {
  const registry = AWSAccount.registry as Map<string, unknown> & { __anyKey?: boolean };
  if (registry.__anyKey) return;
  const get = registry.get.bind(registry);
  registry.get = (key: string) => get(key) ?? AWSAccount.DUMMY_ACCOUNT;
  registry.__anyKey = true;
}

/** S3's key encoding in event notifications: URL-encoded like a form value (space as +), slashes kept. */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+")
    .replace(/%2F/g, "/");
}

/** Rewrites s3rver's record into what S3 itself sends (event version, ARN, encoded key, a real configuration id). */
export function normalizeRecord(raw: S3EventRecord, configurationId: string): S3EventRecord {
  const object = { ...raw.s3.object, key: encodeEventKey(raw.s3.object.key) };
  if (!object.sequencer) object.sequencer = Date.now().toString(16).toUpperCase().padStart(18, "0");
  let eventName = raw.eventName;
  // s3rver reports multipart completion as a POST; S3 names it CompleteMultipartUpload (multipart ETags carry "-N").
  if (eventName === "ObjectCreated:Post" && /-\d+$/.test(object.eTag ?? ""))
    eventName = "ObjectCreated:CompleteMultipartUpload";
  return {
    ...raw,
    eventVersion: "2.1",
    awsRegion: LOCAL_REGION,
    eventName,
    s3: {
      ...raw.s3,
      configurationId,
      bucket: { ...raw.s3.bucket, arn: `arn:aws:s3:::${raw.s3.bucket.name}` },
      object,
    },
  };
}

export interface LocalS3 {
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

export interface LocalS3Options {
  directory: string;
  host: string;
  port?: number;
  /** Physical bucket name per logical bucket of the manifest (`uploads` -> the uploads bucket). */
  buckets: Record<string, string>;
  notifications: readonly S3NotificationDef[];
  /** Sends one SQS message body to a logical queue. */
  send: (queue: string, body: string) => Promise<unknown>;
  log: LocalLog;
}

export async function startLocalS3(opts: LocalS3Options): Promise<LocalS3> {
  mkdirSync(opts.directory, { recursive: true });
  acceptAnyAccessKey();
  const server = new S3rver({
    address: opts.host,
    port: opts.port ?? 0,
    directory: opts.directory,
    silent: true,
    configureBuckets: Object.values(opts.buckets).map((name) => ({ name })),
  });
  server.on("event", (event) => {
    for (const raw of event.Records ?? []) {
      if (!raw.eventName?.startsWith("ObjectCreated:")) continue;
      const bucket = raw.s3.bucket.name;
      for (const [i, n] of opts.notifications.entries()) {
        if (opts.buckets[n.bucket] !== bucket || !raw.s3.object.key.startsWith(n.prefix)) continue;
        const record = normalizeRecord(raw, `local-${n.bucket}-${n.queue}-${i}`);
        opts
          .send(n.queue, JSON.stringify({ Records: [record] }))
          .catch((err) =>
            opts.log.error(
              `S3 notification for ${bucket}/${raw.s3.object.key} could not reach queue ${n.queue}: ${errorMessage(err)}`,
            ),
          );
      }
    }
  });
  const addr = await server.run();
  const endpoint = `http://${opts.host}:${addr.port}`;
  let closed: Promise<void> | undefined;
  return {
    endpoint,
    port: addr.port,
    close: () => {
      closed ??= (async () => {
        const done = server.close().catch(() => undefined);
        server.httpServer?.closeAllConnections();
        await done;
      })();
      return closed;
    },
  };
}
