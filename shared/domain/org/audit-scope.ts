// Audit reads follow the same data scope and masking as the records they describe.
import { batchGetProfiles } from "../customers/repository.ts";
import { maskRecord } from "./masking.ts";
import { canSee, type Viewer } from "./viewer.ts";

interface EntryLike {
  entityType: string;
  entityId: string;
  parentId?: string | undefined;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/** Entity types whose history hangs off a customer; everything else (settings, users, departments) is admin-only. */
const CUSTOMER_CHILDREN = new Set(["contact", "order", "interaction", "task", "payment"]);

function customerOf(e: EntryLike): string | undefined {
  if (e.entityType === "customer") return e.entityId;
  if (CUSTOMER_CHILDREN.has(e.entityType)) return e.parentId;
  return undefined;
}

/**
 * Keeps the entries about records the viewer may see (judged by the customer as it stands now, live or in the bin)
 * and masks sensitive fields in their before and after images for roles without the permission.
 */
export async function scopeAuditEntries<E extends EntryLike>(v: Viewer, entries: E[]): Promise<E[]> {
  let visible = entries;
  if (!(v.scope === "all" && v.perms.admin)) {
    const ids = [...new Set(entries.map(customerOf).filter((x): x is string => !!x))];
    const customers = ids.length ? await batchGetProfiles(v.tenant, ids) : new Map();
    visible = entries.filter((e) => {
      const id = customerOf(e);
      if (!id) return v.perms.admin;
      const c = customers.get(id);
      return !!c && canSee(v, c);
    });
  }
  if (v.perms.viewSensitive) return visible;
  return visible.map((e) => ({
    ...e,
    before: e.before && maskRecord(e.before, false),
    after: e.after && maskRecord(e.after, false),
  }));
}
