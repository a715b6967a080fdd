// GET /v1/reports/satisfaction over HTTP: what an admin and a sales user (own scope) see, and bad queries.
import { beforeAll, describe, expect, it } from "vitest";
import { api, mintToken, uniqueTenant } from "../support/http.ts";

type Api = ReturnType<typeof api>;
let admin: Api;
let sales: Api;
let stranger: Api;

beforeAll(async () => {
  const tenant = uniqueTenant("sat");
  admin = api(await mintToken({ tenant, sub: "u-admin", roles: ["admin"], dept: "d1" }));
  sales = api(await mintToken({ tenant, sub: "u-sales", roles: ["sales"], dept: "d1" }));
  stranger = api(await mintToken({ tenant: uniqueTenant("other"), sub: "u-x", roles: ["admin"] }));
  const mine = await admin.post("/v1/customers", { name: "自有客户", level: "A", ownerId: "u-sales" });
  const theirs = await admin.post("/v1/customers", { name: "他人客户", level: "B" });
  for (const [c, score] of [
    [mine.body.id, 5],
    [mine.body.id, 4],
    [theirs.body.id, 1],
  ] as const) {
    expect((await admin.post(`/v1/customers/${c}/interactions`, { kind: "survey", score })).status).toBe(201);
  }
  const complaint = await admin.post(`/v1/customers/${theirs.body.id}/interactions`, { kind: "complaint" });
  await admin.patch(
    `/v1/customers/${theirs.body.id}/interactions/${complaint.body.id}`,
    { state: "resolved" },
    { "if-match": '"1"' },
  );
  await admin.post(`/v1/customers/${mine.body.id}/interactions`, { kind: "complaint" });
});

describe("GET /v1/reports/satisfaction", () => {
  it("groups by level for an admin, and only the own customers' cells for a sales user", async () => {
    const all = await admin.get("/v1/reports/satisfaction?groupBy=level");
    expect(all.status).toBe(200);
    expect(all.body.items).toEqual([
      expect.objectContaining({ key: "A", surveyCount: 2, averageSurveyScore: 4.5, openComplaints: 1 }),
      expect.objectContaining({ key: "B", surveyCount: 1, averageSurveyScore: 1, resolvedComplaints: 1 }),
    ]);
    expect(all.body.totals).toMatchObject({ surveyCount: 3, averageSurveyScore: 3.33, interactionCount: 5 });
    const own = await sales.get("/v1/reports/satisfaction?groupBy=owner");
    expect(own.body.items).toEqual([
      expect.objectContaining({ key: "u-sales", surveyCount: 2, averageSurveyScore: 4.5, openComplaints: 1 }),
    ]);
    const byMonth = await admin.get("/v1/reports/satisfaction");
    expect(byMonth.body.groupBy).toBe("month");
    expect(byMonth.body.items.at(-1).key).toBe(byMonth.body.to);
    expect((await stranger.get("/v1/reports/satisfaction?groupBy=level")).body.items).toEqual([]);
  });

  it("refuses bad queries with problem+json", async () => {
    for (const qs of ["groupBy=colour", "from=2026-13", "from=2026-05&to=2026-01", "from=2020-01&to=2026-01", "x=1"]) {
      const res = await admin.get(`/v1/reports/satisfaction?${qs}`);
      expect(res.status, qs).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
  });
});
