// Customers and contacts over HTTP against the local runtime, as a frontend calls them: happy paths, bad input, tenants.
import { beforeAll, describe, expect, it } from "vitest";
import { api, mintToken, uniqueTenant } from "../support/http.ts";
import { aUscc } from "../support/builders.ts";

type Api = ReturnType<typeof api>;
let admin: Api;
let viewer: Api;
let stranger: Api;

beforeAll(async () => {
  const tenant = uniqueTenant("e2e");
  admin = api(await mintToken({ tenant, sub: "u-admin", roles: ["admin"], dept: "d1" }));
  viewer = api(await mintToken({ tenant, sub: "u-viewer", roles: ["viewer"], dept: "d1" }));
  stranger = api(await mintToken({ tenant: uniqueTenant("other"), sub: "u-x", roles: ["admin"] }));
});

const expectProblem = (res: { status: number; headers: Headers; body: any }, status: number) => {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  expect(res.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
};

describe("a customer's life over HTTP", () => {
  it("creates, finds, updates, deletes and restores a customer with its contacts", async () => {
    const uscc = aUscc();
    const created = await admin.post("/v1/customers", {
      name: "上海浦东贸易有限公司",
      region: "310115",
      uscc,
      phone: "021-5888 1234",
      email: "Sales@Example.COM",
      tags: ["重点", "重点", "华东"],
    });
    expect(created.status).toBe(201);
    const c = created.body;
    expect(c).toMatchObject({
      name: "上海浦东贸易有限公司",
      type: "enterprise",
      version: 1,
      uscc,
      phone: "021-58881234",
    });
    expect(c.code).toMatch(/^C\d{10}$/);
    expect(c.tags).toEqual(["重点", "华东"]);
    expect(created.headers.get("location")).toBe(`/v1/customers/${c.id}`);

    const found = await admin.get("/v1/customers?q=shpd");
    expect(found.body.items.map((x: any) => x.id)).toContain(c.id);

    const contact = await admin.post(`/v1/customers/${c.id}/contacts`, {
      name: "张经理",
      mobile: "138 1234 5678",
      isPrimary: true,
    });
    expect(contact.status).toBe(201);
    expect(contact.body.mobile).toBe("13812345678");

    const patched = await admin.patch(`/v1/customers/${c.id}`, { level: "A", stage: "formal" }, { "if-match": '"1"' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ level: "A", stage: "formal", version: 2 });
    expect(patched.headers.get("etag")).toBe('"2"');

    const stale = await admin.patch(`/v1/customers/${c.id}`, { level: "C" }, { "if-match": '"1"' });
    expectProblem(stale, 409);
    expect((await admin.get(`/v1/customers/${c.id}`)).body.level).toBe("A");

    const view = await admin.get(`/v1/customers/${c.id}/360`);
    expect(view.status).toBe(200);
    expect(view.body.customer.id).toBe(c.id);
    expect(view.body.contacts.map((x: any) => x.name)).toEqual(["张经理"]);

    expect((await admin.delete(`/v1/customers/${c.id}`)).status).toBe(200);
    expectProblem(await admin.get(`/v1/customers/${c.id}`), 404);
    expect((await admin.get("/v1/customers?deleted=true")).body.items.map((x: any) => x.id)).toContain(c.id);

    const restored = await admin.post(`/v1/customers/${c.id}/restore`);
    expect(restored.status).toBe(200);
    expect((await admin.get(`/v1/customers/${c.id}`)).body.version).toBe(4);

    const audit = await admin.get(`/v1/audit?entityId=${c.id}`);
    expect(audit.body.items.map((e: any) => e.action)).toEqual(["restore", "delete", "update", "create"]);
    expect(audit.body.items[2]).toMatchObject({ actor: "u-admin", changes: ["level", "stage"] });
    expect(audit.body.items[2].before.level).toBeUndefined();
    expect(audit.body.items[2].after.level).toBe("A");
  });

  it("replays a create sent twice with the same Idempotency-Key", async () => {
    const body = { name: "幂等贸易" };
    const first = await admin.post("/v1/customers", body, { "idempotency-key": "e2e-key-1" });
    const again = await admin.post("/v1/customers", body, { "idempotency-key": "e2e-key-1" });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const reused = await admin.post("/v1/customers", { name: "别的" }, { "idempotency-key": "e2e-key-1" });
    expectProblem(reused, 422);
  });

  it("manages contacts and keeps one primary", async () => {
    const c = (await admin.post("/v1/customers", { name: "联系人测试" })).body;
    const a = (await admin.post(`/v1/customers/${c.id}/contacts`, { name: "甲", isPrimary: true })).body;
    const b = (await admin.post(`/v1/customers/${c.id}/contacts`, { name: "乙", isPrimary: true })).body;
    const list = (await admin.get(`/v1/customers/${c.id}/contacts`)).body.items;
    expect(list.filter((x: any) => x.isPrimary).map((x: any) => x.id)).toEqual([b.id]);
    const upd = await admin.patch(`/v1/customers/${c.id}/contacts/${a.id}`, { title: "采购总监", version: 2 });
    expect(upd.status).toBe(200);
    expect(upd.body.title).toBe("采购总监");
    expect((await admin.delete(`/v1/customers/${c.id}/contacts/${b.id}`)).status).toBe(204);
    expectProblem(await admin.get(`/v1/customers/${c.id}/contacts/${b.id}`), 404);
    const after = (await admin.get(`/v1/customers/${c.id}`)).body;
    expect(after.primaryContactId).toBeUndefined();
    expect(after.stats.contactCount).toBe(1);
  });

  it("serves the OpenAPI document and the docs page without a token", async () => {
    const spec = await api().get("/openapi.json");
    expect(spec.status).toBe(200);
    expect(spec.body.paths["/v1/customers/{id}"].patch.requestBody).toBeDefined();
    const docs = await api().get("/docs");
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toContain("text/html");
  });
});

describe("bad input changes nothing and never gets a 5xx", () => {
  it("refuses malformed JSON, wrong types, unknown and read-only fields, oversize strings", async () => {
    const before = (await admin.get("/v1/customers?limit=200")).body.items.length;
    expectProblem(
      await admin.raw("POST", "/v1/customers", { body: '{"name":', headers: { "content-type": "application/json" } }),
      400,
    );
    const wrongType = await admin.post("/v1/customers", { name: 42 });
    expectProblem(wrongType, 400);
    expect(wrongType.body.errors.map((e: any) => e.path)).toContain("name");
    const mass = await admin.post("/v1/customers", {
      name: "批量赋值",
      tenant: "evil",
      id: "X",
      version: 9,
      stats: {},
    });
    expectProblem(mass, 400);
    expect(mass.body.errors.map((e: any) => e.path).sort()).toEqual(["id", "stats", "tenant", "version"]);
    expectProblem(await admin.post("/v1/customers", { name: "长".repeat(201) }), 400);
    expectProblem(await admin.post("/v1/customers", { name: "坏信用代码", uscc: "91350100M000100Y44" }), 400);
    expectProblem(await admin.post("/v1/customers", { name: "坏地区", region: "999999" }), 400);
    expectProblem(await admin.post("/v1/customers", { name: "坏电话", phone: "12345" }), 400);
    expectProblem(await admin.post("/v1/customers", { name: "坏邮编", postcode: "12345" }), 400);
    expectProblem(await admin.post("/v1/customers", { name: "坏邮箱", email: "not-an-email" }), 400);
    expectProblem(await admin.post("/v1/customers", ["not", "an", "object"]), 400);
    const after = (await admin.get("/v1/customers?limit=200")).body.items.length;
    expect(after).toBe(before);
  });

  it("refuses oversize bodies, non-JSON content types, bad limits and forged cursors", async () => {
    const big = JSON.stringify({ name: "大", address: "x".repeat(300_000) });
    expect(
      (await admin.raw("POST", "/v1/customers", { body: big, headers: { "content-type": "application/json" } })).status,
    ).toBe(413);
    expectProblem(
      await admin.raw("POST", "/v1/customers", { body: "name=x", headers: { "content-type": "text/plain" } }),
      415,
    );
    expectProblem(await admin.get("/v1/customers?limit=201"), 400);
    expectProblem(await admin.get("/v1/customers?limit=abc"), 400);
    expectProblem(await admin.get("/v1/customers?cursor=eyJ0IjoiZXZpbCJ9.AAAA"), 400);
    expectProblem(await admin.get("/v1/customers?colour=red"), 400);
  });

  it("asks for the version on updates and refuses a stale one without changing anything", async () => {
    const c = (await admin.post("/v1/customers", { name: "版本测试" })).body;
    expectProblem(await admin.patch(`/v1/customers/${c.id}`, { level: "A" }), 428);
    expectProblem(await admin.patch(`/v1/customers/${c.id}`, { level: "A" }, { "if-match": "abc" }), 400);
    expectProblem(await admin.patch(`/v1/customers/${c.id}`, { level: "A", version: 7 }), 409);
    expect((await admin.get(`/v1/customers/${c.id}`)).body).toMatchObject({ version: 1 });
  });

  it("lets a viewer read but not write", async () => {
    const c = (await admin.post("/v1/customers", { name: "只读测试" })).body;
    expect((await viewer.get(`/v1/customers/${c.id}`)).status).toBe(200);
    expectProblem(await viewer.post("/v1/customers", { name: "不许" }), 403);
    expectProblem(await viewer.patch(`/v1/customers/${c.id}`, { level: "A" }, { "if-match": '"1"' }), 403);
    expectProblem(await viewer.delete(`/v1/customers/${c.id}`), 403);
    expect((await admin.get(`/v1/customers/${c.id}`)).body.version).toBe(1);
  });

  it("answers 401 without a valid token", async () => {
    expect((await api().get("/v1/customers")).status).toBe(401);
    expect((await api("garbage.token.here").get("/v1/customers")).status).toBe(401);
  });
});

describe("tenant isolation", () => {
  it("treats another tenant's customer and contacts as not found on every route", async () => {
    const c = (await admin.post("/v1/customers", { name: "隔离测试", code: "ISO-1" })).body;
    const ct = (await admin.post(`/v1/customers/${c.id}/contacts`, { name: "隔离联系人" })).body;
    expectProblem(await stranger.get(`/v1/customers/${c.id}`), 404);
    expectProblem(await stranger.get(`/v1/customers/${c.id}/360`), 404);
    expectProblem(await stranger.patch(`/v1/customers/${c.id}`, { level: "A" }, { "if-match": '"1"' }), 404);
    expectProblem(await stranger.delete(`/v1/customers/${c.id}`), 404);
    expectProblem(await stranger.post(`/v1/customers/${c.id}/restore`), 404);
    expectProblem(await stranger.get(`/v1/customers/${c.id}/contacts`), 404);
    expectProblem(await stranger.get(`/v1/customers/${c.id}/contacts/${ct.id}`), 404);
    expectProblem(await stranger.post(`/v1/customers/${c.id}/contacts`, { name: "入侵" }), 404);
    expect((await stranger.get("/v1/customers?q=glcs")).body.items).toEqual([]);
    expect((await stranger.get(`/v1/audit?entityId=${c.id}`)).body.items).toEqual([]);
    const mine = await stranger.post("/v1/customers", { name: "同编码不同租户", code: "ISO-1" });
    expect(mine.status).toBe(201);
    const cursor = (await admin.get("/v1/customers?limit=1")).body.nextCursor;
    if (cursor) expectProblem(await stranger.get(`/v1/customers?limit=1&cursor=${encodeURIComponent(cursor)}`), 400);
    expect((await admin.get(`/v1/customers/${c.id}`)).body.version).toBe(1);
  });
});

describe("owner and department", () => {
  it("an admin without a department hands a customer to a user with no record: the owner moves, the department stays", async () => {
    const tenant = uniqueTenant("owner");
    const boss = api(await mintToken({ tenant, sub: "u-boss", roles: ["admin"] })); // no dept claim
    expect((await boss.post("/v1/departments", { id: "east", name: "华东" })).status).toBe(201);
    const user = await boss.put("/v1/users/u-east", { version: 0, roles: ["sales"], deptId: "east" });
    expect(user.status, user.text).toBe(200);
    const created = await boss.post("/v1/customers", { name: "杭州西湖茶业", ownerId: "u-east" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ownerId: "u-east", deptId: "east" });

    const moved = await boss.patch(
      `/v1/customers/${created.body.id}`,
      { ownerId: "u-ghost" },
      { "if-match": `"${created.body.version}"` },
    );
    expect(moved.status, moved.text).toBe(200);
    const now = (await boss.get(`/v1/customers/${created.body.id}`)).body;
    expect(now).toMatchObject({ ownerId: "u-ghost", deptId: "east", version: created.body.version + 1 });
    // Still listed under its department: a manager of the department sees it.
    const manager = api(await mintToken({ tenant, sub: "u-mgr", roles: ["manager"], dept: "east" }));
    const listed = await manager.get("/v1/customers?limit=50");
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((c: { id: string }) => c.id)).toContain(created.body.id);
  });
});
