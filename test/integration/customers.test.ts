// Customers against DynamoDB Local: uniqueness and numbering under concurrency, locking, paging, search, bin, audit.
import { describe, expect, it } from "vitest";
import { queryAudit } from "../../shared/domain/audit/audit.ts";
import { CustomerCreateSchema, type CustomerCreate } from "../../shared/domain/customers/schemas.ts";
import {
  createCustomer,
  customer360,
  deleteCustomer,
  getCustomer,
  listCustomers,
  patchCustomer,
  restoreCustomer,
} from "../../shared/domain/customers/service.ts";
import { createContact } from "../../shared/domain/contacts/service.ts";
import { idempotencyFrom } from "../../shared/domain/idempotency/idempotency.ts";
import { putSettings } from "../../shared/domain/settings/settings.ts";
import { ConflictError, NotFoundError } from "../../shared/http/errors.ts";
import { aCaller, aCustomerInput, aUscc } from "../support/builders.ts";
import type { Customer } from "../../shared/domain/customers/schemas.ts";
import type { Caller } from "../../shared/auth/claims.ts";

const input = (o: Record<string, unknown> = {}): CustomerCreate => CustomerCreateSchema.parse(aCustomerInput(o));
const create = async (caller: Caller, o: Record<string, unknown> = {}) =>
  (await createCustomer(caller, input(o), undefined)).body as Customer;

async function listEverything(caller: Caller, query: Record<string, unknown>, limit: number) {
  const seen: Customer[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const res = await listCustomers(caller, { limit, ...query, cursor } as never);
    seen.push(...res.items);
    if (!res.nextCursor) return seen;
    cursor = res.nextCursor;
  }
  throw new Error("pagination did not end");
}

describe("customer codes", () => {
  it("numbers concurrent creates without a gap in the order they were taken and never twice", async () => {
    const caller = aCaller();
    const made = await Promise.all(Array.from({ length: 12 }, (_, i) => create(caller, { name: `并发客户${i}` })));
    const codes = made.map((c) => c.code).sort();
    const year = new Date().getUTCFullYear();
    expect(new Set(codes).size).toBe(12);
    for (const code of codes) expect(code).toMatch(new RegExp(`^C(${year}|${year + 1})\\d{6}$`));
    const seqs = codes.map((c) => Number(c.slice(-6))).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it("follows the tenant's own pattern once an admin sets it", async () => {
    const caller = aCaller();
    await putSettings(caller.tenant, caller.userId, { customerCodePattern: "KH-{yy}{mm}-{seq:4}", timeZone: "UTC" }, 0);
    const c = await create(caller);
    const now = new Date();
    const yymm = `${String(now.getUTCFullYear()).slice(2)}${String(now.getUTCMonth() + 1).padStart(2, "0")}`;
    expect(c.code).toBe(`KH-${yymm}-0001`);
  });

  it("lets exactly one of two parallel creates take the same code, case-insensitively", async () => {
    const caller = aCaller();
    const results = await Promise.allSettled([create(caller, { code: "ACME-1" }), create(caller, { code: "acme-1" })]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(ConflictError);
    expect((rejected.reason as ConflictError).errors?.[0]?.path).toBe("code");
  });

  it("skips a number a person already typed by hand", async () => {
    const caller = aCaller();
    await putSettings(caller.tenant, caller.userId, { customerCodePattern: "N{seq:3}", timeZone: "UTC" }, 0);
    await create(caller, { code: "N001" });
    const auto = await create(caller);
    expect(auto.code).toBe("N002");
  });

  it("keeps a USCC unique per tenant but lets another tenant use it", async () => {
    const uscc = aUscc();
    const a = aCaller();
    await create(a, { uscc });
    await expect(create(a, { uscc, name: "另一家" })).rejects.toMatchObject({ status: 409 });
    const other = await create(aCaller(), { uscc });
    expect(other.uscc).toBe(uscc);
  });

  it("frees the old code and USCC when a customer changes them", async () => {
    const caller = aCaller();
    const uscc = aUscc();
    const c = await create(caller, { code: "OLD-1", uscc });
    await patchCustomer(caller, c.id, { code: "NEW-1", uscc: null }, 1);
    const reuse = await create(caller, { code: "OLD-1", uscc, name: "接手旧编码" });
    expect(reuse.code).toBe("OLD-1");
    await expect(create(caller, { code: "new-1" })).rejects.toMatchObject({ status: 409 });
  });
});

describe("optimistic locking", () => {
  it("accepts one of two parallel updates from the same version and leaves the other's change out", async () => {
    const caller = aCaller();
    const c = await create(caller);
    const results = await Promise.allSettled([
      patchCustomer(caller, c.id, { level: "A" }, 1),
      patchCustomer(caller, c.id, { level: "B" }, 1),
    ]);
    const ok = results.filter((r) => r.status === "fulfilled") as PromiseFulfilledResult<Customer>[];
    expect(ok).toHaveLength(1);
    const stored = await getCustomer(caller, c.id);
    expect(stored.version).toBe(2);
    expect(stored.level).toBe(ok[0]!.value.level);
    const audit = await queryAudit(caller.tenant, { entityId: c.id, limit: 10 });
    expect(audit.items.filter((e) => e.action === "update")).toHaveLength(1);
  });

  it("does not overwrite the contact counter another writer keeps on the profile", async () => {
    const caller = aCaller();
    const c = await create(caller);
    await createContact(caller, c.id, { name: "王五", isPrimary: false }, undefined);
    await patchCustomer(caller, c.id, { industry: "制造业" }, 1);
    const stored = await getCustomer(caller, c.id);
    expect(stored.stats.contactCount).toBe(1);
    expect(stored.industry).toBe("制造业");
  });
});

describe("listing and search", () => {
  it("pages through every customer of the tenant exactly once, newest first, across shards", async () => {
    const caller = aCaller();
    const made: Customer[] = [];
    for (let i = 0; i < 23; i++) made.push(await create(caller, { name: `分页客户${i}` }));
    await create(aCaller(), { name: "别的租户" });
    const seen = await listEverything(caller, {}, 5);
    expect(seen.map((c) => c.id)).toEqual(made.map((c) => c.id).reverse());
  });

  it("filters by region prefix, industry and owner", async () => {
    const caller = aCaller();
    await create(caller, { name: "西湖一号", region: "330106", industry: "IT" });
    await create(caller, { name: "滨江二号", region: "330108", industry: "制造业" });
    await create(caller, { name: "浦东三号", region: "310115", industry: "IT", ownerId: "u-other" });
    const names = async (q: Record<string, unknown>) => (await listEverything(caller, q, 50)).map((c) => c.name).sort();
    expect(await names({ region: "330100" })).toEqual(["滨江二号", "西湖一号"].sort());
    expect(await names({ industry: "IT" })).toEqual(["浦东三号", "西湖一号"].sort());
    expect(await names({ owner: "u-other" })).toEqual(["浦东三号"]);
    expect(await names({ owner: "u-other", industry: "制造业" })).toEqual([]);
  });

  it("finds a Chinese name by pinyin initials, full pinyin, characters and code prefix, each customer once", async () => {
    const caller = aCaller();
    const target = await create(caller, { name: "上海浦东贸易", code: "SH-001" });
    await create(caller, { name: "深圳华强电子", code: "SZ-001" });
    const ids = async (q: string) => (await listEverything(caller, { q }, 1)).map((c) => c.id);
    expect(await ids("shpd")).toEqual([target.id]);
    expect(await ids("shanghai")).toEqual([target.id]);
    expect(await ids("上海浦")).toEqual([target.id]);
    expect(await ids("sh-0")).toEqual([target.id]);
    const s = await ids("s");
    expect(s).toHaveLength(2);
    expect(new Set(s).size).toBe(2);
  });

  it("finds a renamed customer by its new name only", async () => {
    const caller = aCaller();
    const c = await create(caller, { name: "北京旧名称" });
    await patchCustomer(caller, c.id, { name: "广州新名称" }, 1);
    expect((await listCustomers(caller, { limit: 50, q: "bjjmc" } as never)).items).toHaveLength(0);
    expect((await listCustomers(caller, { limit: 50, q: "gzxmc" } as never)).items.map((x) => x.id)).toEqual([c.id]);
  });
});

describe("recycle bin", () => {
  it("hides a deleted customer everywhere but the bin, and restores it onto every index", async () => {
    const caller = aCaller();
    const c = await create(caller, { name: "回收站测试" });
    await deleteCustomer(caller, c.id, undefined);
    await expect(getCustomer(caller, c.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(customer360(caller, c.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await listEverything(caller, {}, 50)).map((x) => x.id)).not.toContain(c.id);
    expect((await listEverything(caller, { q: "hsz" }, 50)).map((x) => x.id)).toEqual([]);
    expect((await listEverything(caller, { deleted: "true" }, 50)).map((x) => x.id)).toEqual([c.id]);
    await expect(create(caller, { code: c.code })).rejects.toMatchObject({ status: 409 });

    const back = await restoreCustomer(caller, c.id);
    expect(back.deletedAt).toBeUndefined();
    expect(back.version).toBe(3);
    expect((await listEverything(caller, { q: "hsz" }, 50)).map((x) => x.id)).toEqual([c.id]);
    expect(await listEverything(caller, { deleted: "true" }, 50)).toEqual([]);
    const actions = (await queryAudit(caller.tenant, { entityId: c.id, limit: 10 })).items.map((e) => e.action);
    expect(actions).toEqual(["restore", "delete", "create"]);
  });
});

describe("idempotent creates", () => {
  it("creates once for parallel requests with the same key and returns the same record to both", async () => {
    const caller = aCaller();
    const body = aCustomerInput({ name: "幂等客户" });
    const key = () => idempotencyFrom(caller.tenant, "key-1", "POST /v1/customers", body);
    const [a, b] = await Promise.all([
      createCustomer(caller, input(body), key()),
      createCustomer(caller, input(body), key()),
    ]);
    expect((a.body as Customer).id).toBe((b.body as Customer).id);
    expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
    expect(await listEverything(caller, {}, 50)).toHaveLength(1);
  });
});

describe("360 view", () => {
  it("returns the profile and its contacts from the customer's collection", async () => {
    const caller = aCaller();
    const c = await create(caller);
    const p = await createContact(caller, c.id, { name: "赵六", isPrimary: true }, undefined);
    await createContact(caller, c.id, { name: "钱七", isPrimary: false }, undefined);
    const view = await customer360(caller, c.id);
    expect(view.customer.primaryContactId).toBe((p.body as { id: string }).id);
    expect(view.customer.stats.contactCount).toBe(2);
    expect(view.contacts.map((x) => x.name).sort()).toEqual(["赵六", "钱七"].sort());
  });

  it("does not show one tenant's customer to another", async () => {
    const owner = aCaller();
    const c = await create(owner);
    const stranger = aCaller();
    await expect(customer360(stranger, c.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(getCustomer(stranger, c.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(patchCustomer(stranger, c.id, { level: "A" }, 1)).rejects.toBeInstanceOf(NotFoundError);
  });
});
