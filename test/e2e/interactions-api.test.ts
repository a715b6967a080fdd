// Interactions over HTTP against the local runtime: the life of a complaint and a survey, bad input, tenants, scopes.
import { beforeAll, describe, expect, it } from "vitest";
import { api, mintToken, uniqueTenant } from "../support/http.ts";

type Api = ReturnType<typeof api>;
let admin: Api;
let viewer: Api;
let sales: Api;
let stranger: Api;
let customerId: string;
let contactId: string;

beforeAll(async () => {
  const tenant = uniqueTenant("ia");
  admin = api(await mintToken({ tenant, sub: "u-admin", roles: ["admin"], dept: "d1" }));
  viewer = api(await mintToken({ tenant, sub: "u-viewer", roles: ["viewer"], dept: "d1" }));
  sales = api(await mintToken({ tenant, sub: "u-sales", roles: ["sales"], dept: "d1" }));
  stranger = api(await mintToken({ tenant: uniqueTenant("other"), sub: "u-x", roles: ["admin"] }));
  const c = await admin.post("/v1/customers", { name: "宁波港口物流有限公司", region: "330203", level: "A" });
  expect(c.status).toBe(201);
  customerId = c.body.id;
  const contact = await admin.post(`/v1/customers/${customerId}/contacts`, { name: "李主任", mobile: "13912345678" });
  contactId = contact.body.id;
});

const base = () => `/v1/customers/${customerId}/interactions`;

const expectProblem = (res: { status: number; headers: Headers; body: any }, status: number, path?: string) => {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  if (path) expect(res.body.errors.map((e: any) => e.path)).toContain(path);
};

describe("interactions over HTTP", () => {
  it("records a complaint and a survey, resolves the complaint, and shows it all in stats and the 360", async () => {
    const complaint = await admin.post(base(), { kind: "complaint", summary: "货物破损", contactId });
    expect(complaint.status).toBe(201);
    expect(complaint.body).toMatchObject({ kind: "complaint", state: "open", version: 1, contactId, customerId });
    expect(complaint.headers.get("etag")).toBe('"1"');
    expect(complaint.headers.get("location")).toBe(`${base()}/${complaint.body.id}`);
    const survey = await admin.post(base(), {
      kind: "survey",
      score: 4,
      at: new Date(Date.now() - 3600_000).toISOString(),
    });
    expect(survey.status).toBe(201);
    const another = await admin.post(base(), { kind: "survey", score: 5 }, { "idempotency-key": "s-2" });
    const replay = await admin.post(base(), { kind: "survey", score: 5 }, { "idempotency-key": "s-2" });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body.id).toBe(another.body.id);

    const id = complaint.body.id;
    expectProblem(await admin.patch(`${base()}/${id}`, { state: "resolved" }), 428);
    const resolved = await admin.patch(
      `${base()}/${id}`,
      { state: "resolved", resolution: "已补发" },
      { "if-match": '"1"' },
    );
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ state: "resolved", resolution: "已补发", resolvedBy: "u-admin", version: 2 });
    expectProblem(await admin.patch(`${base()}/${id}`, { state: "open" }, { "if-match": '"1"' }), 409);

    const got = await admin.get(`${base()}/${id}`);
    expect(got.body.state).toBe("resolved");
    const customer = await admin.get(`/v1/customers/${customerId}`);
    expect(customer.body.stats).toMatchObject({
      interactionCount: 3,
      surveyCount: 2,
      surveyScoreSum: 9,
      averageSurveyScore: 4.5,
      openComplaints: 0,
      lastInteractionAt: another.body.at,
    });
    const v360 = await admin.get(`/v1/customers/${customerId}/360`);
    expect(v360.body.interactions.map((i: any) => i.id)).toEqual([another.body.id, id, survey.body.id]);
    expect(v360.body.openTasks).toEqual([]);
    const page = await admin.get(`${base()}?limit=2`);
    expect(page.body.items).toHaveLength(2);
    const rest = await admin.get(`${base()}?limit=2&cursor=${encodeURIComponent(page.body.nextCursor)}`);
    expect(rest.body.items.map((i: any) => i.id)).toEqual([survey.body.id]);
    expect(rest.body.nextCursor).toBeNull();
    const history = await admin.get(`/v1/audit?entityId=${id}`);
    expect(history.body.items.map((e: any) => e.action)).toEqual(["update", "create"]);
  });

  it("refuses bad input with problem+json and changes nothing", async () => {
    const before = (await admin.get(`/v1/customers/${customerId}`)).body.stats;
    expectProblem(await admin.post(base(), { kind: "survey" }), 400, "score");
    expectProblem(await admin.post(base(), { kind: "survey", score: 6 }), 400, "score");
    expectProblem(await admin.post(base(), { kind: "call", score: 3 }), 400, "score");
    expectProblem(await admin.post(base(), { kind: "fax" }), 400, "kind");
    expectProblem(await admin.post(base(), { kind: "call", tenant: "x" }), 400, "tenant");
    expectProblem(
      await admin.post(base(), { kind: "call", contactId: "01ARZ3NDEKTSV4RRFFQ69G5FAV" }),
      400,
      "contactId",
    );
    expectProblem(await admin.post(base(), { kind: "call", at: "2999-01-01T00:00:00Z" }), 400, "at");
    expectProblem(await admin.post(base(), { kind: "call", summary: "长".repeat(2001) }), 400, "summary");
    expectProblem(
      await admin.raw("POST", base(), { body: "{kind:", headers: { "content-type": "application/json" } }),
      400,
    );
    expectProblem(await admin.get(`${base()}?limit=500`), 400);
    expectProblem(await admin.get(`${base()}?cursor=forged.cursor`), 400);
    const call = await admin.post(base(), { kind: "call" });
    expectProblem(
      await admin.patch(`${base()}/${call.body.id}`, { state: "resolved" }, { "if-match": '"1"' }),
      400,
      "state",
    );
    expectProblem(await admin.patch(`${base()}/${call.body.id}`, { score: 2 }, { "if-match": '"1"' }), 400);
    const after = (await admin.get(`/v1/customers/${customerId}`)).body.stats;
    expect(after.interactionCount).toBe(before.interactionCount + 1);
    expect(after.surveyCount).toBe(before.surveyCount);
  });

  it("is 404 for another tenant, out of scope, unknown ids; 403 for a viewer's writes", async () => {
    const i = await admin.post(base(), { kind: "visit" });
    expectProblem(await stranger.get(base()), 404);
    expectProblem(await stranger.post(base(), { kind: "call" }), 404);
    expectProblem(await stranger.get(`${base()}/${i.body.id}`), 404);
    expectProblem(await sales.get(base()), 404);
    expectProblem(await sales.post(base(), { kind: "call" }), 404);
    expectProblem(await sales.get(`${base()}/${i.body.id}`), 404);
    expectProblem(await admin.get(`${base()}/01ARZ3NDEKTSV4RRFFQ69G5FAV`), 404);
    expectProblem(await admin.get(`${base()}/not-an-id`), 404);
    expect((await viewer.get(base())).status).toBe(200);
    expectProblem(await viewer.post(base(), { kind: "call" }), 403);
    expectProblem(await viewer.patch(`${base()}/${i.body.id}`, { summary: "x" }, { "if-match": '"1"' }), 403);
  });
});
