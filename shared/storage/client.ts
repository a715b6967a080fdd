// The S3 client, created once at module scope. The endpoint comes from AWS_ENDPOINT_URL_S3 when set (s3rver locally,
// which needs path-style addressing and predates the SDK's default CRC checksums).
import { S3Client } from "@aws-sdk/client-s3";

const local = Boolean(process.env.AWS_ENDPOINT_URL_S3);

export const s3 = new S3Client({
  maxAttempts: 4,
  forcePathStyle: local,
  ...(local ? { requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" } : {}),
});
