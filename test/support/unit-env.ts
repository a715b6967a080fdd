// Unit test workers: forget what the integration project's local runtime put into the environment of the main vitest
// process (endpoints, queue URLs, tenant limits), so unit tests see the plain, mocked world their config describes.
for (const name of [
  "AWS_ENDPOINT_URL_DYNAMODB",
  "AWS_ENDPOINT_URL_S3",
  "AWS_ENDPOINT_URL_SQS",
  "QUEUE_URLS",
  "UPLOADS_BUCKET",
  "BACKUPS_BUCKET",
  "TENANT_RATE_PER_SECOND",
  "TENANT_BURST",
]) {
  delete process.env[name];
}

// Mocked records change from one test to the next: unit tests read them on every call unless a test turns the
// viewer cache on itself (test/unit/domain/viewer-cache.test.ts).
process.env.VIEWER_CACHE_MS = "0";
