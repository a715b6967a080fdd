// All S3 access of imports and exports: object keys (always under the tenant), ranged streaming reads, part files
// joined into one object, and presigned URLs. The client is created once; its endpoint comes from the environment
// (AWS_ENDPOINT_URL_S3 locally), so the cloud and s3rver share this code path.
import { PassThrough, type Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { env } from "../../config/env.ts";

let client: S3Client | undefined;
/** Path-style against a local endpoint; CRC checksums only when an operation requires them (s3rver predates them). */
const s3 = () =>
  (client ??= new S3Client({
    maxAttempts: 4,
    forcePathStyle: !!process.env.AWS_ENDPOINT_URL_S3,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  }));

const bucket = () => env.UPLOADS_BUCKET;

/** How long presigned download links stay valid. */
export const URL_TTL_SECONDS = 3600;

/** Every key this module writes or reads starts with its area and the tenant, so a link can only name own files. */
export const objectKeys = {
  /** Where a presigned upload for import `jobId` goes; the S3 event of this key starts that very job. */
  upload: (tenant: string, jobId: string) => `imports/${tenant}/${jobId}/upload`,
  /** Any other object under this prefix is an S3 drop: a new customer upsert import. */
  dropPrefix: (tenant: string) => `imports/${tenant}/`,
  errorReport: (tenant: string, jobId: string) => `reports/${tenant}/${jobId}/errors.csv`,
  errorPart: (tenant: string, jobId: string, n: number) => `reports/${tenant}/${jobId}/parts/${n}.csv`,
  exportFile: (tenant: string, jobId: string, ext: string) => `exports/${tenant}/${jobId}/export.${ext}`,
  exportPart: (tenant: string, jobId: string, n: number) => `exports/${tenant}/${jobId}/parts/${n}`,
};

/** S3 event keys are URL-encoded with + for spaces. */
export const decodeEventKey = (key: string) => decodeURIComponent(key.replace(/\+/g, " "));

export interface ObjectInfo {
  size: number;
  etag: string;
}

/** Size and ETag of an object, or undefined when it does not exist. */
export async function headObject(key: string): Promise<ObjectInfo | undefined> {
  try {
    const res = await s3().send(new HeadObjectCommand({ Bucket: bucket(), Key: key }));
    return { size: res.ContentLength ?? 0, etag: res.ETag ?? "" };
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || (err as Error).name === "NotFound" || (err as Error).name === "NoSuchKey") return undefined;
    throw err;
  }
}

/**
 * The object's bytes from `start` (to `end`, inclusive, when given) as a stream. With `etag` the read is conditional
 * on it (If-Match), so a file replaced during an import is noticed rather than mixed with the old one.
 */
export async function readRange(key: string, start: number, end?: number, etag?: string): Promise<Readable> {
  const res = await s3().send(
    new GetObjectCommand({
      Bucket: bucket(),
      Key: key,
      Range: `bytes=${start}-${end ?? ""}`,
      ...(etag ? { IfMatch: etag } : {}),
    }),
  );
  return res.Body as Readable;
}

/** The first `n` bytes of an object (fewer when it is shorter). */
export async function readHead(key: string, n: number, etag?: string): Promise<Buffer> {
  const body = await readRange(key, 0, n - 1, etag);
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Writes a small object in one PUT. */
export async function putObject(key: string, body: string | Buffer, contentType: string): Promise<void> {
  await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: key, Body: body, ContentType: contentType }));
}

export async function deleteObject(key: string): Promise<void> {
  await s3().send(new DeleteObjectCommand({ Bucket: bucket(), Key: key }));
}

/**
 * Joins part objects, in order, into one object, streaming (the parts are never all in memory). Parts are written
 * under deterministic keys, so a chunk repeated after a crash overwrites its own part and the join stays exact.
 */
export async function joinParts(
  partKeys: readonly string[],
  target: string,
  contentType: string,
  prefix = "",
): Promise<void> {
  const infos = await Promise.all(partKeys.map((k) => headObject(k)));
  const length = Buffer.byteLength(prefix) + infos.reduce((n, i) => n + (i?.size ?? 0), 0);
  const body = new PassThrough();
  const pump = (async () => {
    if (prefix) body.write(prefix);
    for (const [n, k] of partKeys.entries()) {
      if (!infos[n]) continue;
      const part = await readRange(k, 0);
      for await (const c of part) if (!body.write(c)) await new Promise((r) => body.once("drain", r));
    }
    body.end();
  })();
  pump.catch((err: unknown) => body.destroy(err as Error));
  await Promise.all([
    s3().send(
      new PutObjectCommand({
        Bucket: bucket(),
        Key: target,
        Body: body,
        ContentLength: length,
        ContentType: contentType,
      }),
    ),
    pump,
  ]);
  await Promise.all(partKeys.map((k) => deleteObject(k).catch(() => undefined)));
}

/**
 * A presigned PUT for an upload (the client sends the file body with this URL, no other credentials), valid for
 * IMPORT_UPLOAD_TTL_SECONDS.
 */
export async function uploadUrl(key: string): Promise<string> {
  return getSignedUrl(s3(), new PutObjectCommand({ Bucket: bucket(), Key: key }), {
    expiresIn: env.IMPORT_UPLOAD_TTL_SECONDS,
  });
}

/** A presigned GET for a report or an export, with the file name the browser saves it under. */
export async function downloadUrl(key: string, fileName: string): Promise<string> {
  return getSignedUrl(
    s3(),
    new GetObjectCommand({
      Bucket: bucket(),
      Key: key,
      ResponseContentDisposition: `attachment; filename="${fileName}"`,
    }),
    { expiresIn: URL_TTL_SECONDS },
  );
}
