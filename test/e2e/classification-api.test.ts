// Classification over HTTP against the local runtime, as a frontend calls it: schemes, bad rules, versions, preview,
// apply through the jobs queue, distribution, category lists, history; roles, scopes and tenants.
import { beforeAll, describe, expect, it } from "vitest";
import { api, mintToken, uniqueTenant } from "../support/http.ts";

type Api = ReturnType<typeof api>;
let admin: Api;
let manager: Api;
let sales: Api;
let viewer: Api;
let stranger: Api;

beforeAll(async () => {
  const tenant = uniqueTenant("cls");
  admin = api(await mintToken({ tenant, sub: "u-cls-admin", roles: ["admin"], dept: "d1" }));
  manager = api(await mintToken({ tenant, sub: "u-cls-mgr", roles: ["manager"], dept: "d1" }));
  sales = api(await mintToken({ tenant, sub: "u-cls-sales", roles: ["sales"], dept: "d1" }));
  viewer = api(await mintToken({ tenant, sub: "u-cls-viewer", roles: ["viewer"], dept: "d1" }));
  stranger = api(await mintToken({ tenant: uniqueTenant("other"), sub: "u-x", roles: ["admin"], dept: "d1" }));
});

async function waitForJob(client: Api, location: string) {
  for (let i = 0; i < 300; i++) {
    const res = await client.get(location);
    expect(res.status).toBe(200);
    if (res.body.status === "succeeded" || res.body.status === "failed") return res.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${location} did not finish`);
}

const tierScheme = {
  id: "tier",
  name: "客户等级规则",
  rules: [
    {
      value: "key",
      when: {
        any: [
          { field: "level", op: "eq", value: "A" },
          { field: "tags", op: "eq", value: "vip" },
        ],
      },
    },
  ],
  default: "normal",
};

describe("classification schemes over HTTP", () => {
  it("lists the built-in schemes for a new tenant", async () => {
    const res = await viewer.get("/v1/classification/schemes");
    expect(res.status).toBe(200);
    expect(res.body.items.map((s: any) => s.id)).toEqual(
      expect.arrayContaining(["industry", "region", "type", "size", "frequency", "loyalty", "credit"]),
    );
  });

  it("refuses bad rules with 400 naming the rule, and writes nothing", async () => {
    const bad = await manager.post("/v1/classification/schemes", {
      ...tierScheme,
      id: "broken",
      rules: [
        { value: "x", when: { field: "level", op: "eq", value: "A" } },
        { value: "y", when: { field: "level", op: "like", value: "A" } },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
    expect(bad.body.errors[0].path).toBe("rules.1.when.op");
    const unknownField = await manager.post("/v1/classification/schemes", {
      ...tierScheme,
      id: "broken",
      rules: [{ value: "x", when: { field: "salary", op: "gt", value: 1 } }],
    });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.errors[0]).toMatchObject({ path: "rules.0.when.field" });
    const wrongType = await manager.post("/v1/classification/schemes", {
      ...tierScheme,
      id: "broken",
      rules: [{ value: "x", when: { field: "stats.totalAmount", op: "gt", value: 1.5 } }],
    });
    expect(wrongType.status).toBe(400);
    expect((await manager.get("/v1/classification/schemes/broken")).status).toBe(404);
    const malformed = await manager.raw("POST", "/v1/classification/schemes", {
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(malformed.status).toBe(400);
  });

  it("lets managers define schemes, not sales or viewers; apply runs as a job; lists by category", async () => {
    expect((await sales.post("/v1/classification/schemes", tierScheme)).status).toBe(403);
    expect((await viewer.post("/v1/classification/schemes", tierScheme)).status).toBe(403);
    const made = await manager.post("/v1/classification/schemes", tierScheme);
    expect(made.status).toBe(201);
    expect(made.body.version).toBe(1);
    expect((await manager.post("/v1/classification/schemes", tierScheme)).status).toBe(409);

    const a = await sales.post("/v1/customers", { name: "甲公司", level: "A" });
    const b = await sales.post("/v1/customers", { name: "乙公司", tags: ["vip"] });
    const c = await admin.post("/v1/customers", { name: "丙公司", level: "C" });
    // Written after the scheme existed: classified at once.
    expect(a.body.categories.tier).toBe("key");
    expect(c.body.categories.tier).toBe("normal");

    // A proposed rule set: only level A is key; the preview writes nothing.
    const proposed = { rules: [{ value: "key", when: { field: "level", op: "eq", value: "A" } }] };
    const preview = await manager.post("/v1/classification/schemes/tier/preview", proposed);
    expect(preview.status).toBe(200);
    expect(preview.body.categories).toEqual([
      { value: "key", before: 2, after: 1, change: -1 },
      { value: "normal", before: 1, after: 2, change: 1 },
    ]);
    expect(preview.body.sample).toEqual([{ id: b.body.id, name: "乙公司", from: "key", to: "normal" }]);
    expect((await admin.get(`/v1/customers/${b.body.id}`)).body.categories.tier).toBe("key");

    const put = await manager.put(
      "/v1/classification/schemes/tier",
      { ...tierScheme, id: undefined, ...proposed },
      {
        "if-match": '"1"',
      },
    );
    expect(put.status).toBe(200);
    expect(put.body.version).toBe(2);
    expect(
      (await manager.put("/v1/classification/schemes/tier", { ...tierScheme, id: undefined }, { "if-match": '"1"' }))
        .status,
    ).toBe(409);
    expect((await viewer.get("/v1/classification/schemes/tier?version=1")).body.rules[0].when).toHaveProperty("any");

    const apply = await manager.post("/v1/classification/schemes/tier/apply", {});
    expect(apply.status).toBe(202);
    const job = await waitForJob(manager, `/v1/jobs/${apply.body.jobId}`);
    expect(job).toMatchObject({ status: "succeeded", percent: 100, processed: 3 });
    expect(job.counts.changed).toBeGreaterThanOrEqual(1);

    expect((await admin.get(`/v1/customers/${b.body.id}`)).body.categories.tier).toBe("normal");
    const keys = await admin.get("/v1/customers?category=tier:key");
    expect(keys.body.items.map((x: any) => x.id)).toEqual([a.body.id]);
    const dist = await admin.get("/v1/classification/schemes/tier/distribution");
    expect(dist.body.items).toEqual([
      { value: "key", count: 1, revenue: "0.00" },
      { value: "normal", count: 2, revenue: "0.00" },
    ]);
    // A sales user with scope "own" counts and lists only their own customers.
    const own = await sales.get("/v1/classification/schemes/tier/distribution");
    expect(own.body.total.count).toBe(2);
    expect((await sales.get("/v1/customers?category=tier:normal")).body.items.map((x: any) => x.id)).toEqual([
      b.body.id,
    ]);
    const history = await sales.get(`/v1/customers/${b.body.id}/categories`);
    expect(history.body.history.filter((h: any) => h.schemeId === "tier").map((h: any) => h.to)).toEqual([
      "key",
      "normal",
    ]);
    expect((await sales.get(`/v1/customers/${c.body.id}/categories`)).status).toBe(404);
    expect((await admin.get(`/v1/customers/${b.body.id}/categories?at=yesterday`)).status).toBe(400);
  });

  it("keeps tenants apart", async () => {
    expect((await stranger.get("/v1/classification/schemes/tier")).status).toBe(404);
    const d = await stranger.get("/v1/classification/schemes/industry/distribution");
    expect(d.body.items).toEqual([]);
    expect((await stranger.post("/v1/classification/schemes/nope/apply", {})).status).toBe(404);
  });

  it("serves the value model and a scoped pyramid", async () => {
    const model = await viewer.get("/v1/classification/value-model");
    expect(model.body).toMatchObject({ monetaryCap: "1000000.00", pyramid: { top: 0.05, next: 0.15 } });
    const bad = await manager.put("/v1/classification/value-model", { ...model.body, monetaryCap: "1.234" });
    expect(bad.status).toBe(400);
    expect((await viewer.put("/v1/classification/value-model", model.body)).status).toBe(403);
    const pyramid = await admin.get("/v1/classification/pyramid");
    expect(pyramid.status).toBe(200);
    expect(pyramid.body.tiers.map((t: any) => t.tier)).toEqual(["top", "next", "base"]);
  });
});
