// Logs: every line a handler writes is JSON with request id, tenant and user, and carries no token or phone number.
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { handler } from "../../functions/http/customers.ts";
import { logger } from "../../shared/log/logger.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
const lines: string[] = [];

beforeEach(() => {
  ddbMock.reset();
  // No user record: the token's roles and department apply (the viewer is read before anything else).
  ddbMock.on(BatchGetCommand).resolves({ Responses: {} });
  lines.length = 0;
  logger.setLogLevel("INFO");
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  logger.setLogLevel("SILENT" as never);
});

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.secret-token-payload.signature";
const event = (body: unknown, requestId: string) => ({
  version: "2.0",
  routeKey: "POST /v1/customers",
  rawPath: "/v1/customers",
  headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
  body: JSON.stringify(body),
  isBase64Encoded: false,
  requestContext: {
    requestId,
    authorizer: { jwt: { claims: { sub: "u-42", tenant: "t-logs", roles: "[admin]" }, scopes: null } },
  },
});
const context = { awsRequestId: "aws-1", functionName: "customers", getRemainingTimeInMillis: () => 1000 };

function parsedLines() {
  return lines
    .join("")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

it("writes JSON lines with request id, tenant and user and without the token or the phone number", async () => {
  ddbMock.on(GetCommand).resolves({});
  ddbMock.on(TransactWriteCommand).resolves({});
  ddbMock.on(UpdateCommand).resolves({ Attributes: { seq: 1 } });
  const res = await handler(event({ name: "日志测试", phone: "13812345678" }, "req-log-1") as never, context as never);
  expect(res.statusCode).toBe(201);
  const logged = parsedLines();
  expect(logged.length).toBeGreaterThan(0);
  for (const line of logged) {
    expect(line).toMatchObject({ requestId: "req-log-1", tenant: "t-logs", userId: "u-42" });
  }
  const all = lines.join("");
  expect(all).not.toContain("secret-token-payload");
  expect(all).not.toContain("13812345678");
});

it("logs a failure's detail but answers with nothing but a request id", async () => {
  ddbMock.on(GetCommand).resolves({});
  ddbMock.on(TransactWriteCommand).rejects(new Error("disk on fire at 10.0.0.7"));
  ddbMock.on(UpdateCommand).resolves({ Attributes: { seq: 1 } });
  const res = await handler(event({ name: "失败测试" }, "req-log-2") as never, context as never);
  expect(res.statusCode).toBe(500);
  expect(res.body).not.toContain("disk on fire");
  expect(JSON.parse(res.body as string)).toMatchObject({
    status: 500,
    detail: "internal error",
    instance: "req-log-2",
  });
  const errorLine = parsedLines().find((l) => l.level === "ERROR");
  expect(JSON.stringify(errorLine)).toContain("disk on fire");
  expect(errorLine).toMatchObject({ requestId: "req-log-2", tenant: "t-logs" });
});
