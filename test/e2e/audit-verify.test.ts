// GET /v1/audit/verify over HTTP against the local runtime: admins get the chains' verdict, other roles a 403.
import { beforeAll, describe, expect, it } from "vitest";
import { api, mintToken, uniqueTenant } from "../support/http.ts";

type Api = ReturnType<typeof api>;
let admin: Api;
let sales: Api;

beforeAll(async () => {
  const tenant = uniqueTenant("e2e-audit");
  admin = api(await mintToken({ tenant, sub: "u-admin", roles: ["admin"], dept: "d1" }));
  sales = api(await mintToken({ tenant, sub: "u-sales", roles: ["sales"], dept: "d1" }));
});

describe("GET /v1/audit/verify", () => {
  it("tells an admin the tenant's chains are whole, counting every write", async () => {
    // Prepare: two creates and a patch are three audit entries
    const made = await Promise.all([
      admin.post("/v1/customers", { name: "审计校验甲公司" }),
      admin.post("/v1/customers", { name: "审计校验乙公司" }),
    ]);
    expect(made.map((r) => r.status)).toEqual([201, 201]);
    const patched = await admin.patch(`/v1/customers/${made[0]!.body.id}`, { level: "A" }, { "if-match": '"1"' });
    expect(patched.status).toBe(200);

    // Act
    const res = await admin.get("/v1/audit/verify");

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, chains: 8, entries: 3 });
    const history = await admin.get(`/v1/audit?entityId=${made[0]!.body.id}`);
    expect(history.body.items[0]).toMatchObject({
      action: "update",
      seq: expect.any(Number),
      hash: expect.any(String),
    });
    expect(history.body.items[0]).not.toHaveProperty("GSI1PK");
  });

  it("refuses a caller who is not an admin", async () => {
    const res = await sales.get("/v1/audit/verify");
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
  });

  it("refuses query parameters it does not know", async () => {
    expect((await admin.get("/v1/audit/verify?chain=1")).status).toBe(400);
  });
});
