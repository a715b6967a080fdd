// Handover over HTTP against the local runtime: an admin hands A's customers to B, the jobs queue's worker runs the
// job, GET /v1/jobs/{id} shows its progress; who may start a handover and who may see the job.
import { beforeAll, describe, expect, it } from "vitest";
import { api, mintToken, uniqueTenant } from "../support/http.ts";

type Api = ReturnType<typeof api>;
let tenant: string;
let admin: Api;
let salesA: Api;
let salesB: Api;
let stranger: Api;

const A = "u-ho-a";
const B = "u-ho-b";
const COUNT = 6;

beforeAll(async () => {
  tenant = uniqueTenant("ho");
  admin = api(await mintToken({ tenant, sub: "u-ho-admin", roles: ["admin"], dept: "d1" }));
  salesA = api(await mintToken({ tenant, sub: A, roles: ["sales"], dept: "d1" }));
  salesB = api(await mintToken({ tenant, sub: B, roles: ["sales"], dept: "d1" }));
  stranger = api(await mintToken({ tenant: uniqueTenant("other"), sub: "u-x", roles: ["admin"] }));
});

/** Polls the job until it has finished (a bounded number of reads, no assertion on time). */
async function waitForJob(client: Api, location: string) {
  for (let i = 0; i < 300; i++) {
    const res = await client.get(location);
    expect(res.status).toBe(200);
    if (res.body.status === "succeeded" || res.body.status === "failed") return res.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${location} did not finish`);
}

async function listAll(client: Api): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const res = await client.get(`/v1/customers?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(res.status).toBe(200);
    ids.push(...res.body.items.map((c: any) => c.id));
    cursor = res.body.nextCursor;
  } while (cursor);
  return ids.sort();
}

describe("POST /v1/users/{id}/handover", () => {
  it("moves every customer of A to B in a background job whose progress GET /v1/jobs/{id} shows", async () => {
    const ids: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const res = await admin.post("/v1/customers", { name: `交接测试客户${i}`, ownerId: A });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
    }
    expect(await listAll(salesA)).toEqual([...ids].sort());
    expect(await listAll(salesB)).toEqual([]);

    const started = await admin.post(`/v1/users/${A}/handover`, { toUserId: B });
    expect(started.status).toBe(202);
    expect(started.body.jobId).toMatch(/^[0-9A-Z]{26}$/);
    const location = started.headers.get("location")!;
    expect(location).toBe(`/v1/jobs/${started.body.jobId}`);

    const job = await waitForJob(admin, location);
    expect(job).toMatchObject({
      id: started.body.jobId,
      type: "handover",
      status: "succeeded",
      processed: COUNT,
      total: COUNT,
      percent: 100,
      counts: { moved: COUNT, skipped: 0, failed: 0 },
      errors: [],
      params: { fromUserId: A, toUserId: B },
      createdBy: "u-ho-admin",
    });
    expect(job.leaseOwner).toBeUndefined();
    expect(job.PK).toBeUndefined();

    expect(await listAll(salesB)).toEqual([...ids].sort());
    expect(await listAll(salesA)).toEqual([]);

    const history = await admin.get(`/v1/audit?entityId=${ids[0]}`);
    const moves = history.body.items.filter((e: any) => e.requestId === started.body.jobId);
    expect(moves).toHaveLength(1);
    expect(moves[0].changes).toContain("ownerId");

    // Only its creator or an admin sees the job; another tenant does not find it at all.
    expect((await salesB.get(location)).status).toBe(404);
    expect((await stranger.get(location)).status).toBe(404);
  });

  it("is for admins only, and refuses bad input", async () => {
    const refused = await salesA.post(`/v1/users/${A}/handover`, { toUserId: B });
    expect(refused.status).toBe(403);
    expect((await admin.post(`/v1/users/${A}/handover`, { toUserId: A })).status).toBe(400);
    const unknown = await admin.post(`/v1/users/${A}/handover`, { toUserId: B, tenant: "other" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([{ path: "tenant", message: "unknown field" }]);
    expect((await admin.post(`/v1/users/${A}/handover`, {})).status).toBe(400);
    expect((await admin.post(`/v1/users/bad%20id/handover`, { toUserId: B })).status).toBe(404);
  });

  it("answers 404 for a job id that does not exist or is not a job id", async () => {
    expect((await admin.get("/v1/jobs/01JZZZZZZZZZZZZZZZZZZZZZZZ")).status).toBe(404);
    expect((await admin.get("/v1/jobs/not-a-job")).status).toBe(404);
  });
});
