// Runs in each integration/e2e test worker before the test file: points the SDK and config at the shared local runtime.
import { inject } from "vitest";

const local = inject("local");
process.env.TABLE_NAME = local.tableName;
process.env.AWS_ENDPOINT_URL_DYNAMODB = local.dynamodbEndpoint;
process.env.AWS_ENDPOINT_URL_S3 = local.s3Endpoint;
process.env.AWS_REGION = "us-east-1";
process.env.AWS_ACCESS_KEY_ID = "local";
process.env.AWS_SECRET_ACCESS_KEY = "local";
process.env.UPLOADS_BUCKET = local.uploadsBucket;
process.env.AWS_ENDPOINT_URL_SQS = local.sqsEndpoint;
process.env.BACKUPS_BUCKET = local.backupsBucket;
