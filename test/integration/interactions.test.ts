// Interactions against DynamoDB Local: stats and rollups kept in the same transaction under concurrency, paging,
// the 360 view, contacts, idempotency, audit.
import { describe, expect, it } from "vitest";
import type { Caller } from "../../shared/auth/claims.ts";
import { queryAudit } from "../../shared/domain/audit/audit.ts";
import { createContact } from "../../shared/domain/contacts/service.ts";
import { ContactCreateSchema } from "../../shared/domain/contacts/schemas.ts";
import { CustomerCreateSchema, type Customer } from "../../shared/domain/customers/schemas.ts";
import { createCustomer, customer360, deleteCustomer, getCustomer } from "../../shared/domain/customers/service.ts";
import { idempotencyFrom } from "../../shared/domain/idempotency/idempotency.ts";
import { InteractionCreateSchema, type Interaction } from "../../shared/domain/interactions/schemas.ts";
import {
  createInteraction,
  getInteractionOf,
  listInteractions,
  monthOf,
  patchInteraction,
} from "../../shared/domain/interactions/service.ts";
import { addMonths, satisfactionReport } from "../../shared/domain/reports/satisfaction.ts";
import { averageScore, recompute } from "../../shared/domain/interactions/stats.ts";
import { aCaller, aCustomerInput } from "../support/builders.ts";

const newCustomer = async (caller: Caller, o: Record<string, unknown> = {}) =>
  (await createCustomer(caller, CustomerCreateSchema.parse(aCustomerInput(o)), undefined)).body as Customer;

const record = async (caller: Caller, customerId: string, body: Record<string, unknown>) =>
  (await createInteraction(caller, customerId, InteractionCreateSchema.parse(body), undefined)).body as Interaction;

async function everything(caller: Caller, customerId: string, limit = 7): Promise<Interaction[]> {
  const out: Interaction[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 200; i++) {
    const page = await listInteractions(caller, customerId, limit, cursor);
    out.push(...page.items);
    if (!page.nextCursor) return out;
    cursor = page.nextCursor;
  }
  throw new Error("paging did not end");
}

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

describe("interactions", () => {
  it("lists newest first by `at` (not by arrival) across pages, and the 360 shows the latest", async () => {
    const caller = aCaller();
    const c = await newCustomer(caller);
    const ats = [30, 5, 50, 1, 20, 40, 10, 45, 15].map(minutesAgo);
    for (const at of ats) await record(caller, c.id, { kind: "call", at });
    const listed = await everything(caller, c.id, 4);
    expect(listed.map((i) => i.at)).toEqual([...ats].sort().reverse());
    const v360 = await customer360(caller, c.id);
    expect(v360.interactions.map((i) => i.at)).toEqual([...ats].sort().reverse());
    expect(v360.interactions[0]).not.toHaveProperty("dims");
    expect(v360.customer.stats.lastInteractionAt).toBe(ats[3]);
  });

  it("moves lastInteractionAt only forward when `at` arrives out of order", async () => {
    const caller = aCaller();
    const c = await newCustomer(caller);
    const later = minutesAgo(10);
    await record(caller, c.id, { kind: "visit", at: later });
    await record(caller, c.id, { kind: "visit", at: minutesAgo(60) });
    expect((await getCustomer(caller, c.id)).stats.lastInteractionAt).toBe(later);
  });

  it("keeps stats and rollups equal to a recomputation under parallel creates, resolves and reopens", async () => {
    const caller = aCaller();
    const c = await newCustomer(caller);
    const kinds = ["survey", "complaint", "call", "visit", "survey", "complaint", "email", "meeting"];
    const creates = (count: number, offset: number) =>
      Array.from({ length: count }, (_, n) => {
        const kind = kinds[(n + offset) % kinds.length]!;
        const body: Record<string, unknown> = { kind, at: minutesAgo(((n + offset) * 37) % 90) };
        if (kind === "survey") body.score = ((n + offset) % 5) + 1;
        return record(caller, c.id, body);
      });
    const first = await Promise.all(Array.from({ length: 8 }, () => record(caller, c.id, { kind: "complaint" })));
    // Creates race resolutions; every complaint is resolved twice at once from the same version: one of each pair wins.
    const resolve = (i: Interaction) => patchInteraction(caller, c.id, i.id, { state: "resolved" }, 1);
    const round1 = await Promise.allSettled([...creates(24, 0), ...first.map(resolve), ...first.map(resolve)]);
    const won = round1.slice(24).filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(first.length);
    const lost = round1.slice(24).filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    expect(lost.every((r) => (r.reason as { status: number }).status === 409)).toBe(true);
    // More creates race reopening half of them.
    const reopen = first
      .filter((_, n) => n % 2 === 0)
      .map((i) => patchInteraction(caller, c.id, i.id, { state: "open" }, 2));
    const round2 = await Promise.allSettled([...creates(16, 3), ...reopen]);
    const failures = [...round1.slice(0, 24), ...round2].flatMap((r) =>
      r.status === "rejected" ? [String(r.reason)] : [],
    );
    expect(failures).toEqual([]);

    const stored = await everything(caller, c.id, 50);
    expect(stored).toHaveLength(8 + 24 + 16);
    const want = recompute(stored);
    expect(want.openComplaints).toBeGreaterThan(0);
    expect(want.resolvedComplaints).toBeGreaterThan(0);
    const stats = (await getCustomer(caller, c.id)).stats;
    expect(stats).toMatchObject({
      interactionCount: want.interactions,
      surveyCount: want.surveys,
      surveyScoreSum: want.scoreSum,
      openComplaints: want.openComplaints,
      lastInteractionAt: stored
        .map((i) => i.at)
        .sort()
        .at(-1),
      averageSurveyScore: averageScore(want.scoreSum, want.surveys),
    });
    const month = monthOf(new Date().toISOString(), "Asia/Shanghai");
    const report = await satisfactionReport(caller, { groupBy: "month", from: addMonths(month, -1), to: month });
    expect(report.totals).toEqual({
      interactionCount: want.interactions,
      surveyCount: want.surveys,
      averageSurveyScore: averageScore(want.scoreSum, want.surveys),
      openComplaints: want.openComplaints,
      resolvedComplaints: want.resolvedComplaints,
    });
  });

  it("refuses a contact of another customer, accepts its own", async () => {
    const caller = aCaller();
    const a = await newCustomer(caller);
    const b = await newCustomer(caller);
    const contact = (await createContact(caller, b.id, ContactCreateSchema.parse({ name: "王经理" }), undefined))
      .body as { id: string };
    await expect(record(caller, a.id, { kind: "call", contactId: contact.id })).rejects.toMatchObject({
      status: 400,
      errors: [{ path: "contactId" }],
    });
    expect((await getCustomer(caller, a.id)).stats).not.toHaveProperty("interactionCount");
    expect(await record(caller, b.id, { kind: "call", contactId: contact.id })).toMatchObject({
      contactId: contact.id,
    });
  });

  it("resolves and reopens a complaint with optimistic locking, audited under the customer", async () => {
    const caller = aCaller();
    const c = await newCustomer(caller);
    const i = await record(caller, c.id, { kind: "complaint", summary: "发货慢" });
    expect(i.state).toBe("open");
    const resolved = await patchInteraction(caller, c.id, i.id, { state: "resolved", resolution: "补发" }, 1);
    expect(resolved).toMatchObject({ state: "resolved", resolution: "补发", resolvedBy: caller.userId, version: 2 });
    await expect(patchInteraction(caller, c.id, i.id, { state: "open" }, 1)).rejects.toMatchObject({ status: 409 });
    expect((await getCustomer(caller, c.id)).stats.openComplaints).toBe(0);
    const reopened = await patchInteraction(caller, c.id, i.id, { state: "open" }, 2);
    expect(reopened).not.toHaveProperty("resolvedAt");
    expect((await getCustomer(caller, c.id)).stats.openComplaints).toBe(1);
    const call = await record(caller, c.id, { kind: "call" });
    await expect(patchInteraction(caller, c.id, call.id, { state: "resolved" }, 1)).rejects.toMatchObject({
      status: 400,
    });
    const entries = (await queryAudit(caller.tenant, { entityId: i.id, limit: 10 })).items;
    expect(entries.map((e) => e.action)).toEqual(["update", "update", "create"]);
    expect(entries.every((e) => e.entityType === "interaction" && e.parentId === c.id)).toBe(true);
    expect(await getInteractionOf(caller, c.id, i.id)).toMatchObject({ version: 3, state: "open" });
  });

  it("records once per Idempotency-Key", async () => {
    const caller = aCaller();
    const c = await newCustomer(caller);
    const body = { kind: "survey", score: 4 };
    const idem = () => idempotencyFrom(caller.tenant, "k-1", `POST interactions ${c.id}`, body);
    const runs = await Promise.all(
      [1, 2, 3].map(() => createInteraction(caller, c.id, InteractionCreateSchema.parse(body), idem())),
    );
    expect(new Set(runs.map((r) => (r.body as Interaction).id)).size).toBe(1);
    expect((await getCustomer(caller, c.id)).stats.surveyCount).toBe(1);
  });

  it("is not found for another tenant, out of scope or a binned customer, and a viewer may not write", async () => {
    const caller = aCaller();
    const c = await newCustomer(caller);
    await record(caller, c.id, { kind: "call" });
    await expect(listInteractions(aCaller(), c.id, 10, undefined)).rejects.toMatchObject({ status: 404 });
    const sales = { ...caller, userId: "someone-else", roles: ["sales" as const] };
    await expect(listInteractions(sales, c.id, 10, undefined)).rejects.toMatchObject({ status: 404 });
    await expect(record(sales, c.id, { kind: "call" })).rejects.toMatchObject({ status: 404 });
    const viewer = { ...caller, userId: "v1", roles: ["viewer" as const], dept: "d1" };
    await expect(record(viewer, c.id, { kind: "call" })).rejects.toMatchObject({ status: 403 });
    await deleteCustomer(caller, c.id, undefined);
    await expect(record(caller, c.id, { kind: "call" })).rejects.toMatchObject({ status: 404 });
  });
});
