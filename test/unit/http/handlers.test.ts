// Unit tests for the customers and contacts HTTP handlers, invoked with hand-built API Gateway v2 events and a mocked
// DynamoDB: status codes, problem+json bodies and headers a client relies on.
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { handler as contacts } from "../../../functions/http/contacts.ts";
import { handler as customers } from "../../../functions/http/customers.ts";
import { newId } from "../../../shared/db/ids.ts";
import { customerKeys } from "../../../shared/domain/customers/keys.ts";
import { aContact, aCustomerItem } from "../domain/support/builders.ts";
import { aContext, anEvent, bodyOf, claimsOf, type EventOptions } from "./support/events.ts";
import { serveBatchGets } from "../../support/batch-get.ts";

const ddbMock = mockClient(DynamoDBDocumentClient);
/** Stores an item BatchGetItem serves (the viewer and the profile are read together). */
let serve: ReturnType<typeof serveBatchGets>;
const PROBLEM = "application/problem+json; charset=utf-8";

const callCustomers = (o: EventOptions) => customers(anEvent(o), aContext());
const callContacts = (o: EventOptions) => contacts(anEvent(o), aContext());

/** The field paths a 400 names. */
const pathsOf = (res: { body?: string }) => ((bodyOf(res).errors ?? []) as { path: string }[]).map((e) => e.path);

/** Serves `item` as the stored profile of its customer in `tenant`. */
function storedCustomer(tenant: string, overrides: Parameters<typeof aCustomerItem>[1] = {}) {
  const item = aCustomerItem(tenant, overrides);
  ddbMock
    .on(GetCommand, { Key: { PK: customerKeys.pk(tenant, item.id), SK: customerKeys.profileSk() } })
    .resolves({ Item: item });
  serve({ PK: customerKeys.pk(tenant, item.id), SK: customerKeys.profileSk() }, item);
  return item;
}

beforeEach(() => {
  ddbMock.reset();
  // No user record: the token's roles and department apply (the viewer is read before anything else).
  serve = serveBatchGets(ddbMock);
  ddbMock.on(GetCommand).resolves({});
  ddbMock.on(UpdateCommand).resolves({ Attributes: { seq: 7 } });
  ddbMock.on(TransactWriteCommand).resolves({});
  ddbMock.on(QueryCommand).resolves({ Items: [] });
});

describe("POST /v1/customers", () => {
  it("creates a customer: 201 with its location and version as ETag", async () => {
    // Act
    const res = await callCustomers({ routeKey: "POST /v1/customers", body: { name: "Acme Trading", code: "KH-001" } });

    // Assess
    expect(res.statusCode).toBe(201);
    const body = bodyOf(res);
    expect(body).toMatchObject({ name: "Acme Trading", code: "KH-001", version: 1, ownerId: "u-alice" });
    expect(res.headers?.location).toBe(`/v1/customers/${body.id as string}`);
    expect(res.headers?.etag).toBe('"1"');
    // The create's transaction puts the profile; the next one classifies that same profile.
    const [create, classify, ...more] = ddbMock
      .commandCalls(TransactWriteCommand)
      .map((c) => c.args[0].input.TransactItems!);
    const profileKey = { PK: customerKeys.pk("acme", body.id as string), SK: customerKeys.profileSk() };
    expect(create!.some((i) => i.Put?.Item?.PK === profileKey.PK && i.Put.Item.SK === profileKey.SK)).toBe(true);
    expect(classify!.some((i) => i.Update?.Key?.PK === profileKey.PK && i.Update.Key.SK === profileKey.SK)).toBe(true);
    expect(more).toHaveLength(0);
    expect(body.categories).toMatchObject({ type: "enterprise" });
  });

  it("answers 400 problem+json for a malformed JSON body", async () => {
    // Act
    const res = await callCustomers({
      routeKey: "POST /v1/customers",
      body: '{"name": "Acme"',
      headers: { "content-type": "application/json" },
    });

    // Assess
    expect(res.statusCode).toBe(400);
    expect(res.headers?.["content-type"]).toBe(PROBLEM);
    expect(bodyOf(res)).toMatchObject({ status: 400, title: "Bad request", instance: "req-1" });
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it.each(["tenant", "version", "id"])("answers 400 naming the unknown field `%s`", async (field) => {
    // Act
    const res = await callCustomers({ routeKey: "POST /v1/customers", body: { name: "Acme", [field]: 1 } });

    // Assess
    expect(res.statusCode).toBe(400);
    expect(bodyOf(res).errors).toContainEqual({ path: field, message: "unknown field" });
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it("answers 400 naming a name longer than 200 characters", async () => {
    // Act
    const res = await callCustomers({ routeKey: "POST /v1/customers", body: { name: "长".repeat(201) } });

    // Assess
    expect(res.statusCode).toBe(400);
    expect(pathsOf(res)).toEqual(["name"]);
  });

  it("answers 403 to a viewer, having only read its user record", async () => {
    // Act
    const res = await callCustomers({
      routeKey: "POST /v1/customers",
      body: { name: "Acme" },
      claims: claimsOf("acme", "[viewer]"),
    });

    // Assess
    expect(res.statusCode).toBe(403);
    expect(res.headers?.["content-type"]).toBe(PROBLEM);
    expect(ddbMock.calls().map((c) => (c.args[0] as object).constructor.name)).toEqual(["BatchGetCommand"]);
  });

  it("answers 401 when the request carries no claims", async () => {
    // Act
    const res = await callCustomers({ routeKey: "POST /v1/customers", body: { name: "Acme" }, claims: null });

    // Assess
    expect(res.statusCode).toBe(401);
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it("answers 500 with only 'internal error' when DynamoDB fails, revealing nothing of the failure", async () => {
    // Prepare
    const secret = "AccessDeniedException: arn:aws:iam::123456789012:role/prod-customers is not authorized";
    ddbMock.on(TransactWriteCommand).rejects(new Error(secret));

    // Act
    const res = await callCustomers({
      routeKey: "POST /v1/customers",
      body: { name: "Acme", code: "KH-1" },
      requestId: "req-9",
    });

    // Assess
    expect(res.statusCode).toBe(500);
    expect(res.headers?.["content-type"]).toBe(PROBLEM);
    expect(bodyOf(res)).toMatchObject({ status: 500, detail: "internal error", instance: "req-9" });
    expect(res.body).not.toContain("AccessDenied");
    expect(res.body).not.toContain("arn:aws");
    expect(res.body).not.toMatch(/stack|\.ts:\d+|\n\s+at /);
  });
});

describe("GET /v1/customers", () => {
  it("answers 400 naming `limit` for limit=201", async () => {
    // Act
    const res = await callCustomers({ routeKey: "GET /v1/customers", queryStringParameters: { limit: "201" } });

    // Assess
    expect(res.statusCode).toBe(400);
    expect(pathsOf(res)).toEqual(["limit"]);
    expect(ddbMock.calls()).toHaveLength(0);
  });

  describe("with a cursor", () => {
    /** Reads a first page of one item in tenant `acme` and returns its nextCursor. */
    async function firstPageCursor(): Promise<string> {
      const item = aCustomerItem("acme");
      ddbMock.on(QueryCommand).resolves({
        Items: [{ ...item, GSI1PK: "p", GSI1SK: item.id }],
        LastEvaluatedKey: { PK: item.PK, SK: item.SK, GSI1PK: "p", GSI1SK: item.id },
      });
      const res = await callCustomers({ routeKey: "GET /v1/customers", queryStringParameters: { limit: "1" } });
      expect(res.statusCode).toBe(200);
      const cursor = bodyOf(res).nextCursor;
      expect(typeof cursor).toBe("string");
      ddbMock.resetHistory();
      return cursor as string;
    }

    it("answers 400 for a tampered cursor, without querying", async () => {
      // Prepare
      const cursor = await firstPageCursor();
      const tampered = cursor.slice(0, 5) + (cursor[5] === "A" ? "B" : "A") + cursor.slice(6);

      // Act
      const res = await callCustomers({
        routeKey: "GET /v1/customers",
        queryStringParameters: { limit: "1", cursor: tampered },
      });

      // Assess
      expect(res.statusCode).toBe(400);
      expect(ddbMock.commandCalls(QueryCommand)).toHaveLength(0);
    });

    it("answers 400 for another tenant's cursor", async () => {
      // Prepare
      const cursor = await firstPageCursor();

      // Act
      const res = await callCustomers({
        routeKey: "GET /v1/customers",
        queryStringParameters: { limit: "1", cursor },
        claims: claimsOf("globex"),
      });

      // Assess
      expect(res.statusCode).toBe(400);
    });

    it("continues with the cursor it issued", async () => {
      // Prepare
      const cursor = await firstPageCursor();

      // Act
      const res = await callCustomers({ routeKey: "GET /v1/customers", queryStringParameters: { limit: "1", cursor } });

      // Assess
      expect(res.statusCode).toBe(200);
    });
  });
});

describe("GET /v1/customers/{id}", () => {
  it("answers with the customer of the caller's tenant and its version as ETag", async () => {
    // Prepare
    const item = storedCustomer("acme", { version: 6 });

    // Act
    const res = await callCustomers({ routeKey: "GET /v1/customers/{id}", pathParameters: { id: item.id } });

    // Assess
    expect(res.statusCode).toBe(200);
    expect(bodyOf(res)).toMatchObject({ id: item.id, name: item.name });
    expect(bodyOf(res)).not.toHaveProperty("PK");
    expect(res.headers?.etag).toBe('"6"');
  });

  it("answers 404 when the id belongs to another tenant's customer", async () => {
    // Prepare
    const item = storedCustomer("globex");

    // Act
    const res = await callCustomers({ routeKey: "GET /v1/customers/{id}", pathParameters: { id: item.id } });

    // Assess
    expect(res.statusCode).toBe(404);
  });

  it.each(["42", "01j0000000000000000000000a", "..%2FPROFILE"])(
    "answers 404 for the id %j without reading",
    async (id) => {
      // Act
      const res = await callCustomers({ routeKey: "GET /v1/customers/{id}", pathParameters: { id } });

      // Assess
      expect(res.statusCode).toBe(404);
      expect(res.headers?.["content-type"]).toBe(PROBLEM);
      expect(ddbMock.calls()).toHaveLength(0);
    },
  );
});

describe("PATCH /v1/customers/{id}", () => {
  it("answers 428 when neither If-Match nor a body version is sent", async () => {
    // Prepare
    const item = storedCustomer("acme");

    // Act
    const res = await callCustomers({
      routeKey: "PATCH /v1/customers/{id}",
      pathParameters: { id: item.id },
      body: { level: "A" },
    });

    // Assess
    expect(res.statusCode).toBe(428);
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it("applies the patch for the current If-Match and returns the new version as ETag", async () => {
    // Prepare
    const item = storedCustomer("acme", { version: 4 });

    // Act
    const res = await callCustomers({
      routeKey: "PATCH /v1/customers/{id}",
      pathParameters: { id: item.id },
      headers: { "If-Match": '"4"' },
      body: { level: "A" },
    });

    // Assess
    expect(res.statusCode).toBe(200);
    expect(res.headers?.etag).toBe('"5"');
    expect(bodyOf(res)).toMatchObject({ level: "A", version: 5 });
  });

  it("answers 409 for a stale body version", async () => {
    // Prepare
    const item = storedCustomer("acme", { version: 4 });

    // Act
    const res = await callCustomers({
      routeKey: "PATCH /v1/customers/{id}",
      pathParameters: { id: item.id },
      body: { level: "A", version: 3 },
    });

    // Assess
    expect(res.statusCode).toBe(409);
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });
});

describe("contacts routes", () => {
  it("create a contact under a live customer: 201 with its location", async () => {
    // Prepare
    const item = storedCustomer("acme");

    // Act
    const res = await callContacts({
      routeKey: "POST /v1/customers/{id}/contacts",
      pathParameters: { id: item.id },
      body: { name: "李雷", mobile: "13800138000" },
    });

    // Assess
    expect(res.statusCode).toBe(201);
    const body = bodyOf(res);
    expect(res.headers?.location).toBe(`/v1/customers/${item.id}/contacts/${body.id as string}`);
    expect(body).toMatchObject({ customerId: item.id, name: "李雷", isPrimary: false });
  });

  it("answer 404 for a malformed customer id", async () => {
    // Act
    const res = await callContacts({
      routeKey: "POST /v1/customers/{id}/contacts",
      pathParameters: { id: "nope" },
      body: { name: "李雷" },
    });

    // Assess
    expect(res.statusCode).toBe(404);
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it("answer 400 naming an unknown field on create", async () => {
    // Act
    const res = await callContacts({
      routeKey: "POST /v1/customers/{id}/contacts",
      pathParameters: { id: newId() },
      body: { name: "李雷", customerId: newId() },
    });

    // Assess
    expect(res.statusCode).toBe(400);
    expect(pathsOf(res)).toEqual(["customerId"]);
  });

  it("answer 428 to a contact PATCH without a version", async () => {
    // Act
    const res = await callContacts({
      routeKey: "PATCH /v1/customers/{id}/contacts/{contactId}",
      pathParameters: { id: newId(), contactId: newId() },
      body: { title: "CFO" },
    });

    // Assess
    expect(res.statusCode).toBe(428);
  });

  it("delete a contact with 204 and no body", async () => {
    // Prepare
    const item = storedCustomer("acme");
    const contact = aContact(item.id);
    ddbMock
      .on(GetCommand, { Key: { PK: item.PK as string, SK: customerKeys.contactSk(contact.id) } })
      .resolves({ Item: { PK: item.PK, SK: customerKeys.contactSk(contact.id), entity: "contact", ...contact } });

    // Act
    const res = await callContacts({
      routeKey: "DELETE /v1/customers/{id}/contacts/{contactId}",
      pathParameters: { id: item.id, contactId: contact.id },
    });

    // Assess
    expect(res.statusCode).toBe(204);
    expect(res.body).toBeUndefined();
    expect(ddbMock.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });
});
