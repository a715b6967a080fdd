// Backups over HTTP against the local runtime: an admin takes a backup, the jobs queue's worker runs it, the list
// shows its manifest, a drill restores and verifies it; bad input is a 4xx problem, other tenants get 404, and only
// an admin may do any of it.
import { beforeAll, describe, expect, it } from "vitest";
import { api, mintToken, uniqueTenant } from "../support/http.ts";

type Api = ReturnType<typeof api>;
let admin: Api;
let sales: Api;
let stranger: Api;

beforeAll(async () => {
  const tenant = uniqueTenant("bk");
  admin = api(await mintToken({ tenant, sub: "u-bk-admin", roles: ["admin"], dept: "d1" }));
  sales = api(await mintToken({ tenant, sub: "u-bk-sales", roles: ["sales"], dept: "d1" }));
  stranger = api(await mintToken({ tenant: uniqueTenant("other"), sub: "u-x", roles: ["admin"] }));
});

/** Polls the job until it has finished (a bounded number of reads, no assertion on time). */
async function waitForJob(client: Api, location: string) {
  for (let i = 0; i < 600; i++) {
    const res = await client.get(location);
    expect(res.status).toBe(200);
    if (res.body.status === "succeeded" || res.body.status === "failed") return res.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${location} did not finish`);
}

describe("backups API", () => {
  it("backs up, lists the manifest, drills with parity, and restores one customer to a point in time", async () => {
    const created = await admin.post("/v1/customers", { name: "备份接口客户", level: "A" });
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    const started = await admin.post("/v1/backups");
    expect(started.status).toBe(202);
    expect(started.headers.get("location")).toBe(`/v1/jobs/${started.body.jobId}`);
    expect(await waitForJob(admin, `/v1/jobs/${started.body.jobId}`)).toMatchObject({ status: "succeeded" });

    const list = await admin.get("/v1/backups");
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    const backup = list.body.items[0];
    expect(backup).toMatchObject({ id: started.body.backupId, status: "succeeded", countsByEntity: { customer: 1 } });
    expect(backup.chunks.length).toBeGreaterThan(0);

    const drill = await admin.post(`/v1/backups/${backup.id}/restore`, { mode: "drill" });
    expect(drill.status).toBe(202);
    expect(await waitForJob(admin, `/v1/jobs/${drill.body.jobId}`)).toMatchObject({ status: "succeeded" });
    const after = await admin.get(`/v1/backups/${backup.id}`);
    expect(after.body.drill).toMatchObject({ status: "passed", failedChunks: [], verifiedItems: backup.items });
    // The download link serves the manifest itself.
    const manifest = (await (await fetch(after.body.links.manifest as string)).json()) as Record<string, unknown>;
    expect(manifest).toMatchObject({ backupId: backup.id, items: backup.items, chunks: backup.chunks });
    expect(Object.keys(after.body.links.chunks as object)).toEqual(backup.chunks.map((c: { name: string }) => c.name));

    const changed = await admin.patch(`/v1/customers/${id}`, { name: "改过的名字" }, { "if-match": '"1"' });
    expect(changed.status).toBe(200);
    const at = backup.endedAt as string;
    const restored = await admin.post(`/v1/customers/${id}/restore?at=${encodeURIComponent(at)}`);
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ id, name: "备份接口客户", level: "A" });
  });

  it("answers bad input with a 4xx problem and changes nothing", async () => {
    const bad = await admin.post("/v1/backups", { everything: true });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toContain("application/problem+json");
    const list = await admin.get("/v1/backups");
    const id = list.body.items[0]?.id ?? "01M8QK2XM25RBHA7N139WMR4PF";
    const mode = await admin.post(`/v1/backups/${id}/restore`, { mode: "everything" });
    expect(mode.status).toBe(400);
    expect(mode.body.errors[0].path).toBe("mode");
    expect((await admin.post(`/v1/backups/not-an-id/restore`, { mode: "drill" })).status).toBe(404);
    expect((await admin.get(`/v1/backups?limit=0`)).status).toBe(400);
    expect((await admin.post(`/v1/customers/01M8QK2XM25RBHA7N139WMR4PF/restore?at=yesterday`)).status).toBe(400);
  });

  it("is admin only, and another tenant's backup is 404", async () => {
    expect((await sales.post("/v1/backups")).status).toBe(403);
    expect((await sales.get("/v1/backups")).status).toBe(403);
    const list = await admin.get("/v1/backups");
    const id = list.body.items[0].id as string;
    expect((await stranger.get(`/v1/backups/${id}`)).status).toBe(404);
    expect((await stranger.post(`/v1/backups/${id}/restore`, { mode: "replace" })).status).toBe(404);
    expect((await stranger.get("/v1/backups")).body).toEqual({ items: [] });
  });
});
