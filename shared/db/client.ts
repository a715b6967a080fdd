// The DynamoDB document client, created once at module scope. The endpoint comes from AWS_ENDPOINT_URL_DYNAMODB when set.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** Low-level client; the SDK itself honours AWS_ENDPOINT_URL_DYNAMODB, so local and cloud share this code path. */
export const dynamo = new DynamoDBClient({ maxAttempts: 4 });

/** Document client that marshals plain JS objects, dropping undefined values. */
export const ddb = DynamoDBDocumentClient.from(dynamo, {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  unmarshallOptions: { wrapNumbers: false },
});
