// Backups and restores against DynamoDB Local and s3rver: the jobs worker called directly with hand-made SQS events
// and a fake Lambda context. Round trip backup -> wipe -> replace equal item by item; a corrupted chunk fails the
// drill and names the chunk; a backup killed mid-way (an invocation that dies, one that runs out of time) resumes and
// still holds every item exactly once; retention; tenant isolation and admin-only access.
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it, vi } from "vitest";
import { jobsWorker, RUNNERS } from "../../functions/workers/jobs-worker.ts";
import type { Caller } from "../../shared/auth/claims.ts";
import {
  applyRetention,
  backupRunner,
  listBackups,
  readBackup,
  requestBackup,
} from "../../shared/domain/backups/backup.ts";
import { canonicalJson, decodeChunk, entityOf, keyId, type RawItem } from "../../shared/domain/backups/codec.ts";
import { backupKeys, backupObjects } from "../../shared/domain/backups/keys.ts";
import {
  deleteRawKeys,
  getBackupItem,
  getObjectBytes,
  scanPrefixPage,
} from "../../shared/domain/backups/repository.ts";
import { restoreCustomerAt } from "../../shared/domain/backups/point-in-time.ts";
import { NOT_REPLACED, requestRestore } from "../../shared/domain/backups/restore.ts";
import { startNightlyBackups } from "../../shared/domain/backups/nightly.ts";
import { putSettings } from "../../shared/domain/settings/settings.ts";
import { listTenants } from "../../shared/domain/tenants/registry.ts";
import { ContactCreateSchema } from "../../shared/domain/contacts/schemas.ts";
import { ContactPatchSchema } from "../../shared/domain/contacts/schemas.ts";
import { createContact, deleteContact, listContacts, patchContact } from "../../shared/domain/contacts/service.ts";
import { InteractionCreateSchema, InteractionPatchSchema } from "../../shared/domain/interactions/schemas.ts";
import { createInteraction, listInteractions, patchInteraction } from "../../shared/domain/interactions/service.ts";
import { PaymentSchema } from "../../shared/domain/orders/schemas.ts";
import { actOnOrder, addPayment, getOrder, listOrders } from "../../shared/domain/orders/service.ts";
import { readCells } from "../../shared/domain/orders/rollups.ts";
import { newOrder } from "../support/orders.ts";
import { CustomerCreateSchema, CustomerPatchSchema } from "../../shared/domain/customers/schemas.ts";
import { createCustomer, getCustomer, patchCustomer } from "../../shared/domain/customers/service.ts";
import { getJobItem } from "../../shared/domain/jobs/repository.ts";
import type { JobMessage } from "../../shared/domain/jobs/schemas.ts";
import { queryAudit } from "../../shared/domain/audit/audit.ts";
import { s3 } from "../../shared/storage/client.ts";
import { aCaller, aCustomerInput } from "../support/builders.ts";
import { fakeContext, PLENTY, sqsEvent } from "../support/job-events.ts";

// A tenant's backup scans the whole table (every tenant's items, filtered): in the full suite the shared DynamoDB Local
// table holds every other test file's data too, so these tests take far longer than alone.
vi.setConfig({ testTimeout: 180_000 });

/** Small pages and chunks, so a few dozen customers make many rounds and chunks. */
const SMALL = { segments: 3, pageLimit: 10, chunkItems: 3 };

/** A worker that runs backups in small chunks and captures every message it would send. */
function worker() {
  const sent: JobMessage[] = [];
  const send = async (m: JobMessage) => void sent.push(m);
  const handler = jobsWorker({ runners: { ...RUNNERS, backup: backupRunner({ ...SMALL, send }) }, continueJob: send });
  /** Delivers `first` and every message it leads to, until none is left. */
  const drain = async (first: JobMessage) => {
    const queue = [first];
    while (queue.length) {
      const m = queue.shift()!;
      const before = sent.length;
      expect(await handler(sqsEvent(m), fakeContext())).toEqual({ batchItemFailures: [] });
      queue.push(...sent.slice(before));
    }
  };
  return { sent, send, handler, drain };
}

/** Every item of the tenant a replace brings back, keyed by PK/SK, as canonical JSON. */
async function snapshot(tenant: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let start: RawItem | undefined;
  do {
    const page = await scanPrefixPage(backupKeys.tenantPrefix(tenant), 0, 1, start, 1000);
    for (const it of page.items) if (!NOT_REPLACED.has(entityOf(it))) out.set(keyId(it), canonicalJson(it));
    start = page.next;
  } while (start);
  return out;
}

async function allItemsOf(tenant: string): Promise<RawItem[]> {
  const out: RawItem[] = [];
  let start: RawItem | undefined;
  do {
    const page = await scanPrefixPage(backupKeys.tenantPrefix(tenant), 0, 1, start, 1000);
    out.push(...page.items);
    start = page.next;
  } while (start);
  return out;
}

/** A tenant with `n` customers, two contacts each. */
async function seed(admin: Caller, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await createCustomer(
      admin,
      CustomerCreateSchema.parse(aCustomerInput({ name: `备份客户${i}`, code: `B-${i}` })),
      undefined,
    );
    const id = (res.body as { id: string }).id;
    ids.push(id);
    for (const name of ["张经理", "李主任"]) {
      await createContact(admin, id, ContactCreateSchema.parse({ name, mobile: "138 1234 5678" }), undefined);
    }
  }
  return ids;
}

/** What a user sees of one customer: its contacts, orders and interactions (state, not bookkeeping) and its stats. */
async function stateOf(caller: Caller, id: string) {
  const strip = (o: Record<string, unknown>) => {
    const { version: _v, updatedAt: _u, updatedBy: _b, ...rest } = o;
    return rest;
  };
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
  const customer = await getCustomer(caller, id);
  return {
    primaryContactId: customer.primaryContactId,
    stats: customer.stats,
    categories: customer.categories,
    contacts: (await listContacts(caller, id, 50, undefined)).items.sort(byId).map(strip),
    orders: (await listOrders(caller, { customerId: id, limit: 50 })).items.sort(byId).map(strip),
    interactions: (await listInteractions(caller, id, 50, undefined)).items.sort(byId).map(strip),
    // The sales report's cells of this month (approvals in the test happen now).
    sales: await Promise.all(
      (["customer", "month"] as const).map(async (g) =>
        (await readCells(caller.tenant, g, new Date().toISOString().slice(0, 7), {})).map((c) => ({
          group: g,
          value: c.groupValue,
          revenue: c.revenue,
          orders: c.orders,
        })),
      ),
    ),
  };
}

async function backUp(admin: Caller, w: ReturnType<typeof worker>) {
  const { jobId, backupId } = await requestBackup(admin, "req-backup", w.send);
  await w.drain(w.sent.pop()!);
  return { jobId, backupId };
}

/** Every item in the backup's chunks, keyed by PK/SK; fails on a key held twice. */
async function backupContents(tenant: string, backupId: string): Promise<Map<string, string>> {
  const b = (await getBackupItem(tenant, backupId))!;
  const out = new Map<string, string>();
  for (const c of b.chunks) {
    for (const it of decodeChunk(await getObjectBytes(backupObjects.chunk(tenant, backupId, c.name)))) {
      expect(out.has(keyId(it)), `${keyId(it)} in two chunks`).toBe(false);
      out.set(keyId(it), canonicalJson(it));
    }
  }
  return out;
}

describe("backup", () => {
  it("exports every item of the tenant (and nothing of another) with a manifest of counts and hashes", async () => {
    const admin = aCaller();
    const other = aCaller();
    await seed(admin, 6);
    await seed(other, 2);
    const w = worker();

    const { jobId, backupId } = await backUp(admin, w);

    const b = (await readBackup(admin, backupId))!;
    expect(b).toMatchObject({ id: backupId, status: "succeeded", trigger: "on-demand", jobId, tableSchemaVersion: 1 });
    expect(b.countsByEntity).toMatchObject({ customer: 6, contact: 12, guard: 6 });
    expect(b.chunks.length).toBeGreaterThan(3);
    for (const c of b.chunks) expect(c.sha256).toMatch(/^[0-9a-f]{64}$/);
    const contents = await backupContents(admin.tenant, backupId);
    expect(contents.size).toBe(b.items);
    const live = await allItemsOf(admin.tenant);
    const expected = live.filter((it) => !["job", "job-item", "backup"].includes(entityOf(it)));
    expect(new Set(contents.keys())).toEqual(new Set(expected.map(keyId)));
    for (const key of contents.keys()) expect(key.startsWith(`T#${admin.tenant}#`)).toBe(true);

    const manifest = JSON.parse(
      Buffer.from(await getObjectBytes(backupObjects.manifest(admin.tenant, backupId))).toString("utf8"),
    ) as Record<string, unknown>;
    expect(manifest).toMatchObject({ tenant: admin.tenant, backupId, items: b.items, chunks: b.chunks });
    expect(typeof manifest.startedAt).toBe("string");
    expect(typeof manifest.endedAt).toBe("string");
    expect((await getJobItem(admin.tenant, jobId))?.status).toBe("succeeded");
  });

  it("resumes a backup whose invocation died and one that ran out of time, and holds each item once", async () => {
    const admin = aCaller();
    await seed(admin, 12);
    const w = worker();
    const { backupId } = await requestBackup(admin, "req-backup", w.send);
    const first = w.sent.pop()!;

    // First invocation: dies (the Lambda is killed) at the start of its second round (reading 1 is the lease's).
    const dies = fakeContext((n) => {
      if (n >= 2) throw new Error("killed");
      return PLENTY;
    });
    const event = sqsEvent(first);
    expect(await w.handler(event, dies)).toEqual({
      batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }],
    });
    const midway = (await getBackupItem(admin.tenant, backupId))!;
    expect(midway.status).toBe("running");
    expect(midway.chunks.length).toBeGreaterThan(0);

    // The same message again (reading 1 is the lease's): one round, then its time is short and it continues.
    const short = fakeContext((n) => (n <= 1 ? PLENTY : 1000));
    expect(await w.handler(sqsEvent(first, 2), short)).toEqual({ batchItemFailures: [] });
    const continuation = w.sent.pop()!;
    expect(continuation).toEqual(first);
    expect((await getBackupItem(admin.tenant, backupId))!.status).toBe("running");

    await w.drain(continuation);

    const b = (await getBackupItem(admin.tenant, backupId))!;
    expect(b.status).toBe("succeeded");
    const contents = await backupContents(admin.tenant, backupId);
    const live = await allItemsOf(admin.tenant);
    const expected = live.filter((it) => !["job", "job-item", "backup"].includes(entityOf(it)));
    expect(contents.size).toBe(expected.length);
    expect(b.items).toBe(expected.length);
    for (const it of expected) expect(contents.get(keyId(it))).toBe(canonicalJson(it));
    const job = (await getJobItem(admin.tenant, b.jobId))!;
    expect(job.status).toBe("succeeded");
    expect(job.counts.chunks).toBe(b.chunks.length);
  });
});

describe("restore drill", () => {
  it("passes on an intact backup, reports parity with the live data, and leaves no scratch data", async () => {
    const admin = aCaller();
    const ids = await seed(admin, 5);
    const w = worker();
    const { backupId } = await backUp(admin, w);
    const c = await getCustomer(admin, ids[0]!);
    await patchCustomer(admin, ids[0]!, CustomerPatchSchema.parse({ level: "A" }), c.version);

    const { jobId } = await requestRestore(admin, backupId, { mode: "drill" }, "req-drill", w.send);
    await w.drain(w.sent.pop()!);

    const b = (await readBackup(admin, backupId))!;
    expect(b.drill).toMatchObject({ jobId, status: "passed", failedChunks: [], verifiedItems: b.items });
    // The patched profile changed since; its new audit entry and chain head are not in the backup at all.
    expect(b.drill!.parity.changedSince).toBeGreaterThanOrEqual(1);
    expect(b.drill!.parity.identical + b.drill!.parity.changedSince + b.drill!.parity.goneSince).toBe(b.items);
    const job = (await getJobItem(admin.tenant, jobId))!;
    expect(job).toMatchObject({ status: "succeeded", counts: { verified: b.chunks.length } });
    expect(await allItemsOf(backupKeys.scratchTenant(jobId))).toEqual([]);
  });

  it("fails the job when a chunk is corrupted, names the chunk, raises the alarm, and still checks the others", async () => {
    const admin = aCaller();
    await seed(admin, 4);
    const w = worker();
    const { backupId } = await backUp(admin, w);
    const b = (await getBackupItem(admin.tenant, backupId))!;
    const victim = b.chunks[1]!;
    await s3.send(
      new PutObjectCommand({
        Bucket: process.env.BACKUPS_BUCKET,
        Key: backupObjects.chunk(admin.tenant, backupId, victim.name),
        Body: Buffer.from("not what was written"),
      }),
    );

    const { jobId } = await requestRestore(admin, backupId, { mode: "drill" }, "req-drill", w.send);
    const stdout = vi.spyOn(process.stdout, "write");
    let written: string[];
    try {
      await w.drain(w.sent.pop()!);
    } finally {
      written = stdout.mock.calls.map(([chunk]) => String(chunk));
      stdout.mockRestore();
    }

    const metric = written.find((line) => line.includes('"RestoreDrillFailed":1'));
    expect(metric, "the failed-drill metric line").toBeDefined();
    const after = (await readBackup(admin, backupId))!;
    expect(after.drill?.status).toBe("failed");
    expect(after.drill?.failedChunks).toEqual([
      { name: victim.name, reason: "SHA-256 of the stored bytes differs from the manifest" },
    ]);
    expect(after.drill?.verifiedItems).toBe(b.items - victim.items);
    const job = (await getJobItem(admin.tenant, jobId))!;
    expect(job.status).toBe("failed");
    expect(job.failureReason).toContain(victim.name);
    expect(job.failureReason).toContain("SHA-256 of the stored bytes differs from the manifest");
    expect(job.counts).toMatchObject({ failed: 1, verified: b.chunks.length - 1 });
    expect(job.errors[0]).toMatchObject({ id: victim.name });
    expect(await allItemsOf(backupKeys.scratchTenant(jobId))).toEqual([]);
  });
});

describe("restore replace", () => {
  it("brings the tenant back to the backup item by item after a wipe, audited, other tenants untouched", async () => {
    const admin = aCaller();
    const other = aCaller();
    const ids = await seed(admin, 5);
    await seed(other, 2);
    const w = worker();
    const before = await snapshot(admin.tenant);
    const { backupId } = await backUp(admin, w);
    const otherBefore = await snapshot(other.tenant);

    // After the backup: an edit, a new customer, then most of the tenant wiped.
    const c = await getCustomer(admin, ids[1]!);
    await patchCustomer(admin, ids[1]!, CustomerPatchSchema.parse({ level: "B" }), c.version);
    await createCustomer(admin, CustomerCreateSchema.parse(aCustomerInput({ name: "后来的客户" })), undefined);
    const wipe = (await allItemsOf(admin.tenant)).filter((it) => !NOT_REPLACED.has(entityOf(it)));
    await deleteRawKeys(wipe.slice(0, Math.ceil(wipe.length * 0.8)));
    expect(await snapshot(admin.tenant)).not.toEqual(before);

    const { jobId } = await requestRestore(admin, backupId, { mode: "replace" }, "req-replace", w.send);
    await w.drain(w.sent.pop()!);

    expect((await getJobItem(admin.tenant, jobId))?.status).toBe("succeeded");
    const after = await snapshot(admin.tenant);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [k, v] of before) expect(after.get(k), k).toBe(v);
    expect(await snapshot(other.tenant)).toEqual(otherBefore);
    const { items } = await queryAudit(admin.tenant, { entityId: backupId, limit: 10 });
    expect(items.map((e) => e.action)).toContain("restore");
  });
});

describe("one replace at a time", () => {
  it("refuses a second replace of the tenant while one is queued or running, and allows one after it ended", async () => {
    const admin = aCaller();
    await seed(admin, 3);
    const w = worker();
    const { backupId } = await backUp(admin, w);

    const a = await requestRestore(admin, backupId, { mode: "replace" }, "req-a", w.send);
    const queued = w.sent.pop()!;
    await expect(requestRestore(admin, backupId, { mode: "replace" }, "req-b", w.send)).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining(a.jobId),
    });
    // A drill writes into its own scratch namespace: it may run beside the replace.
    await requestRestore(admin, backupId, { mode: "drill" }, "req-drill", w.send);
    w.sent.pop();

    await w.drain(queued);
    expect((await getJobItem(admin.tenant, a.jobId))?.status).toBe("succeeded");
    const b = await requestRestore(admin, backupId, { mode: "replace" }, "req-c", w.send);
    await w.drain(w.sent.pop()!);
    expect((await getJobItem(admin.tenant, b.jobId))?.status).toBe("succeeded");
  });

  it("of several replaces asked at once, exactly one starts", async () => {
    const admin = aCaller();
    await seed(admin, 2);
    const w = worker();
    const { backupId } = await backUp(admin, w);
    const asked = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => requestRestore(admin, backupId, { mode: "replace" }, `req-${i}`, w.send)),
    );
    expect(asked.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of asked.filter((x) => x.status === "rejected")) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({ status: 409 });
    }
  });
});

describe("restore replace from a corrupted backup", () => {
  it("writes nothing and fails the job on its last delivery", async () => {
    const admin = aCaller();
    const ids = await seed(admin, 3);
    const w = worker();
    const { backupId } = await backUp(admin, w);
    const b = (await getBackupItem(admin.tenant, backupId))!;
    const last = b.chunks[b.chunks.length - 1]!;
    await s3.send(
      new PutObjectCommand({
        Bucket: process.env.BACKUPS_BUCKET,
        Key: backupObjects.chunk(admin.tenant, backupId, last.name),
        Body: Buffer.from("garbage"),
      }),
    );
    const c = await getCustomer(admin, ids[0]!);
    await patchCustomer(admin, ids[0]!, CustomerPatchSchema.parse({ level: "C" }), c.version);
    const before = await snapshot(admin.tenant);

    const { jobId } = await requestRestore(admin, backupId, { mode: "replace" }, "req-replace", w.send);
    const event = sqsEvent(w.sent.pop()!, 5);
    expect(await w.handler(event, fakeContext())).toEqual({
      batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }],
    });

    expect(await snapshot(admin.tenant)).toEqual(before);
    expect(await getJobItem(admin.tenant, jobId)).toMatchObject({ status: "failed", processed: 0 });
  });
});

describe("access", () => {
  it("is admin only, and another tenant's backup is 404", async () => {
    const admin = aCaller();
    const w = worker();
    const { backupId } = await backUp(admin, w);
    const sales = { ...admin, userId: "u-sales", roles: ["sales" as const] };
    await expect(requestBackup(sales, undefined, w.send)).rejects.toMatchObject({ name: "ForbiddenError" });
    await expect(listBackups(sales, 10)).rejects.toMatchObject({ name: "ForbiddenError" });
    const stranger = aCaller();
    await expect(readBackup(stranger, backupId)).rejects.toMatchObject({ name: "NotFoundError" });
    await expect(requestRestore(stranger, backupId, { mode: "replace" }, undefined, w.send)).rejects.toMatchObject({
      name: "NotFoundError",
    });
    expect((await listBackups(stranger, 10)).items).toEqual([]);
    expect((await listBackups(admin, 10)).items.map((b) => b.id)).toEqual([backupId]);
  });
});

describe("retention", () => {
  it("keeps the newest backup of a day and deletes the older one's objects and record", async () => {
    const admin = aCaller();
    await seed(admin, 1);
    const w = worker();
    const first = await backUp(admin, w);
    expect((await listBackups(admin, 10)).items.map((b) => b.id)).toEqual([first.backupId]);

    // The default policy keeps the newest backup of each day: the second of today replaces the first.
    const second = await backUp(admin, w);

    expect((await listBackups(admin, 10)).items.map((b) => b.id)).toEqual([second.backupId]);
    expect(await getBackupItem(admin.tenant, first.backupId)).toBeUndefined();
    await expect(getObjectBytes(backupObjects.manifest(admin.tenant, first.backupId))).rejects.toThrow();
    const b = (await getBackupItem(admin.tenant, second.backupId))!;
    await expect(
      getObjectBytes(backupObjects.chunk(admin.tenant, second.backupId, b.chunks[0]!.name)),
    ).resolves.toBeInstanceOf(Uint8Array);
    expect(await applyRetention(admin.tenant, { daily: 1, weekly: 0, monthly: 0 })).toEqual([]);
  });
});

describe("point-in-time restore of one customer", () => {
  it("returns the profile to its state at a time after the backup, from the backup plus the audit log", async () => {
    const admin = aCaller();
    const [id, otherId] = await seed(admin, 2);
    const w = worker();
    let c = await getCustomer(admin, id!);
    c = await patchCustomer(admin, id!, CustomerPatchSchema.parse({ level: "A" }), c.version);
    await backUp(admin, w);
    c = await patchCustomer(admin, id!, CustomerPatchSchema.parse({ name: "改名之后", level: "B" }), c.version);
    const { items } = await queryAudit(admin.tenant, { entityId: id!, limit: 1 });
    const at = new Date(new Date(items[0]!.at).getTime() + 1);
    // Changes after `at` are what the restore undoes (the entry at `at` + 1 ms is strictly later).
    await new Promise((r) => setTimeout(r, 5));
    c = await patchCustomer(admin, id!, CustomerPatchSchema.parse({ name: "再次改名", level: "C" }), c.version);
    const untouched = await getCustomer(admin, otherId!);

    const restored = await restoreCustomerAt(admin, id!, at, "req-pitr");

    expect(restored).toMatchObject({ name: "改名之后", level: "B", version: c.version + 1 });
    expect(await getCustomer(admin, id!)).toMatchObject({ name: "改名之后", level: "B" });
    expect(await getCustomer(admin, otherId!)).toEqual(untouched);
    const latest = (await queryAudit(admin.tenant, { entityId: id!, limit: 1 })).items[0]!;
    expect(latest).toMatchObject({ requestId: "req-pitr", action: "update" });
    expect(latest.changes.sort()).toEqual(["level", "name"]);
  });

  it("rewinds the customer's contacts, orders and interactions too, with its stats, audited, and a rerun changes nothing", async () => {
    const admin = aCaller();
    const [id] = await seed(admin, 1); // two contacts: 张经理, 李主任
    const contactsOf = async () => (await listContacts(admin, id!, 50, undefined)).items;
    const [c1, c2] = await contactsOf();
    const k1 = await patchContact(admin, id!, c1!.id, ContactPatchSchema.parse({ isPrimary: true }), c1!.version);
    const o1 = await newOrder(admin, id!, ["100.00"]);
    await actOnOrder(admin, o1.id, "submit", {}, undefined);
    await actOnOrder(admin, o1.id, "approve", {}, undefined);
    await createInteraction(admin, id!, InteractionCreateSchema.parse({ kind: "survey", score: 4 }), undefined);
    const w = worker();
    await backUp(admin, w);

    // Between the backup and `at` (replayed from the audit log): a contact edited, a contact added, a draft order.
    await patchContact(admin, id!, c1!.id, ContactPatchSchema.parse({ title: "总经理" }), k1.version);
    await createContact(admin, id!, ContactCreateSchema.parse({ name: "王助理", mobile: "139 0000 1111" }), undefined);
    await newOrder(admin, id!, ["20.00", "5.00"]);
    await createInteraction(admin, id!, InteractionCreateSchema.parse({ kind: "complaint" }), undefined);
    await new Promise((r) => setTimeout(r, 5));
    const expected = await stateOf(admin, id!);
    const at = new Date();
    await new Promise((r) => setTimeout(r, 5));

    // After `at` (undone): a contact edited, one deleted, a new primary contact, an order added and approved, a payment.
    const now = await contactsOf();
    const k2 = now.find((c) => c.id === c2!.id)!;
    await patchContact(admin, id!, k2.id, ContactPatchSchema.parse({ name: "李主任（离职）" }), k2.version);
    const wang = now.find((c) => c.name === "王助理")!;
    await deleteContact(admin, id!, wang.id, undefined);
    await createContact(
      admin,
      id!,
      ContactCreateSchema.parse({ name: "赵总", mobile: "137 0000 2222", isPrimary: true }),
      undefined,
    );
    const o3 = await newOrder(admin, id!, ["999.00"]);
    await actOnOrder(admin, o3.id, "submit", {}, undefined);
    await actOnOrder(admin, o3.id, "approve", {}, undefined);
    await addPayment(admin, o1.id, PaymentSchema.parse({ amount: "30.00" }));
    const complaint = (await listInteractions(admin, id!, 50, undefined)).items.find((i) => i.kind === "complaint")!;
    await patchInteraction(
      admin,
      id!,
      complaint.id,
      InteractionPatchSchema.parse({ state: "resolved", resolution: "已处理" }),
      complaint.version,
    );
    expect(await stateOf(admin, id!)).not.toEqual(expected);

    await restoreCustomerAt(admin, id!, at, "req-pitr-children");

    expect(await stateOf(admin, id!)).toEqual(expected);
    await expect(getOrder(admin, o3.id)).rejects.toMatchObject({ name: "NotFoundError" });
    const restoreEntries = (await queryAudit(admin.tenant, { userId: admin.userId, limit: 200 })).items.filter(
      (e) => e.requestId === "req-pitr-children" && e.action === "restore",
    );
    // Changed since `at`: 李主任 (edited), 王助理 (deleted), 赵总 (added), 张经理 (demoted), o3, o1 (paid), the complaint.
    expect(restoreEntries.map((e) => e.entityType).sort()).toEqual([
      "contact",
      "contact",
      "contact",
      "contact",
      "interaction",
      "order",
      "order",
    ]);
    expect(restoreEntries.find((e) => e.entityId === wang.id)).toMatchObject({ before: null, parentId: id });

    // Run again: everything already is as it was at `at`, so nothing is written.
    await restoreCustomerAt(admin, id!, at, "req-pitr-again");
    const again = (await queryAudit(admin.tenant, { userId: admin.userId, limit: 50 })).items.filter(
      (e) => e.requestId === "req-pitr-again",
    );
    expect(again).toEqual([]);
    expect(await stateOf(admin, id!)).toEqual(expected);
  });

  it("refuses a time before any backup (422) and is admin only", async () => {
    const admin = aCaller();
    const [id] = await seed(admin, 1);
    await expect(restoreCustomerAt(admin, id!, new Date("2020-01-01T00:00:00Z"))).rejects.toMatchObject({
      name: "UnprocessableError",
    });
    const sales = { ...admin, userId: "u-sales", roles: ["sales" as const] };
    await expect(restoreCustomerAt(sales, id!, new Date())).rejects.toMatchObject({ name: "ForbiddenError" });
  });
});

describe("nightly", () => {
  it("starts one backup per tenant and night however often the tick comes, and the backup starts its drill", async () => {
    const admin = aCaller();
    await seed(admin, 1);
    const w = worker();
    const night = new Date("2031-05-01T19:00:00Z");

    const first = await startNightlyBackups(night, w.send, [admin.tenant]);
    const again = await startNightlyBackups(night, w.send, [admin.tenant]);

    expect(first).toHaveLength(1);
    expect(again).toEqual([]);
    await w.drain(w.sent.pop()!);
    const b = (await readBackup(admin, first[0]!.jobId))!;
    expect(b).toMatchObject({ status: "succeeded", trigger: "nightly", drill: { status: "passed" } });
  });
  it("finds the tenants in the registry: one whose only data is its settings, one with customers", async () => {
    const onlySettings = aCaller();
    const withCustomers = aCaller();
    await putSettings(
      onlySettings.tenant,
      onlySettings.userId,
      { customerCodePattern: "K{seq:4}", timeZone: "UTC" },
      0,
    );
    await seed(withCustomers, 1);
    expect(await listTenants()).toEqual(expect.arrayContaining([onlySettings.tenant, withCustomers.tenant]));
    const w = worker();
    const night = new Date("2032-02-29T19:00:00Z");

    // No tenant list given: the registry is the only source.
    const started = await startNightlyBackups(night, w.send);

    for (const caller of [onlySettings, withCustomers]) {
      const mine = started.filter((s) => s.tenant === caller.tenant);
      expect(mine, caller.tenant).toHaveLength(1);
      await w.drain(w.sent.find((m) => m.jobId === mine[0]!.jobId)!);
      const b = (await readBackup(caller, mine[0]!.jobId))!;
      expect(b).toMatchObject({ status: "succeeded", trigger: "nightly", drill: { status: "passed" } });
    }
    expect(
      (await readBackup(onlySettings, started.find((s) => s.tenant === onlySettings.tenant)!.jobId)).countsByEntity,
    ).toMatchObject({ settings: 1 });
    expect(
      (await readBackup(withCustomers, started.find((s) => s.tenant === withCustomers.tenant)!.jobId)).countsByEntity,
    ).toMatchObject({ customer: 1, contact: 2 });
  });
});
