// Interaction use cases: record, read, list and resolve/reopen a customer's interactions. Each write moves the
// customer's stats and its satisfaction rollup cell in the same transaction, with its audit entry.
// adapter --> (use case) --> domain & repositories
import { reclassify } from "../classification/service.ts";
import type { Caller } from "../../auth/claims.ts";
import { decodeCursor, encodeCursor } from "../../db/cursor.ts";
import { newId } from "../../db/ids.ts";
import { ConflictError, NotFoundError, ValidationError } from "../../http/errors.ts";
import { type AuditAction, auditPut } from "../audit/audit.ts";
import { getContact } from "../contacts/repository.ts";
import type { CustomerItem } from "../customers/repository.ts";
import { visibleCustomer } from "../customers/service.ts";
import { type IdempotencyContext, once } from "../idempotency/idempotency.ts";
import { requireWrite } from "../org/viewer.ts";
import { dateParts } from "../settings/code-pattern.ts";
import { getSettings } from "../settings/settings.ts";
import {
  getInteraction,
  insertInteraction,
  ProfileMoved,
  queryInteractions,
  replaceInteraction,
} from "./repository.ts";
import type { Dims, Interaction, InteractionCreate, InteractionPatch } from "./schemas.ts";
import { advancesLast, createDelta, stateDelta } from "./stats.ts";

/** Attempts of a create whose customer moved under it (another interaction advanced lastInteractionAt first). */
const CREATE_ATTEMPTS = 8;

/** The month (in the tenant's time zone) `at` falls in, as `YYYY-MM`. */
export function monthOf(at: string, timeZone: string): string {
  const d = dateParts(new Date(at), timeZone);
  return `${d.yyyy}-${d.mm}`;
}

/** The rollup dimensions of an interaction: the customer as it stands when the interaction is recorded. */
export function dimsOf(c: CustomerItem, at: string, timeZone: string): Dims {
  return {
    month: monthOf(at, timeZone),
    deptPath: c.deptPath ?? "",
    ownerId: c.ownerId,
    region: c.region ?? "",
    industry: c.industry ?? "",
    level: c.level ?? "",
  };
}

const audit = (
  caller: Caller,
  action: AuditAction,
  i: Interaction,
  before: Interaction | null,
  requestId: string | undefined,
) =>
  auditPut(caller.tenant, {
    at: i.updatedAt,
    actor: caller.userId,
    action,
    entityType: "interaction",
    entityId: i.id,
    parentId: i.customerId,
    before: before && { ...before },
    after: { ...i },
    requestId,
  });

/** Records an interaction; replays on a repeated Idempotency-Key. */
export async function createInteraction(
  caller: Caller,
  customerId: string,
  input: InteractionCreate,
  idem: IdempotencyContext | undefined,
  requestId?: string,
) {
  const [{ v, customer }, settings] = await Promise.all([
    visibleCustomer(caller, customerId),
    getSettings(caller.tenant),
  ]);
  requireWrite(v);
  return once(idem, async (record) => {
    // Checked again in the transaction (a ConditionCheck), so a contact deleted meanwhile is refused too.
    if (input.contactId && !(await getContact(caller.tenant, customerId, input.contactId))) {
      throw invalid("contactId", "not a contact of this customer");
    }
    const now = new Date().toISOString();
    const at = input.at ?? now;
    const interaction: Interaction = {
      id: newId(Date.parse(at)),
      customerId,
      kind: input.kind,
      at,
      ...(input.summary !== undefined ? { summary: input.summary } : {}),
      ...(input.contactId !== undefined ? { contactId: input.contactId } : {}),
      ...(input.score !== undefined ? { score: input.score } : {}),
      ...(input.kind === "complaint" ? { state: "open" as const } : {}),
      version: 1,
      createdAt: now,
      updatedAt: now,
      createdBy: caller.userId,
      updatedBy: caller.userId,
    };
    const result = { status: 201, body: interaction };
    let current = customer;
    for (let attempt = 1; ; attempt++) {
      const stored = (current.stats as Record<string, unknown> | undefined)?.lastInteractionAt as string | undefined;
      const extras = [record(result), audit(caller, "create", interaction, null, requestId)].filter(
        (x) => x !== undefined,
      );
      try {
        await insertInteraction(
          caller.tenant,
          interaction,
          dimsOf(current, at, settings.timeZone),
          createDelta(interaction),
          { at, advance: advancesLast(stored, at) },
          extras,
        );
        await reclassify(caller.tenant, customerId);
        return result;
      } catch (err) {
        if (!(err instanceof ProfileMoved) || attempt >= CREATE_ATTEMPTS) throw err;
        current = (await visibleCustomer(caller, customerId)).customer;
      }
    }
  });
}

async function requireInteraction(tenant: string, customerId: string, id: string) {
  const found = await getInteraction(tenant, customerId, id);
  if (!found) throw new NotFoundError(`interaction ${id} not found`);
  return found;
}

export async function getInteractionOf(caller: Caller, customerId: string, id: string): Promise<Interaction> {
  await visibleCustomer(caller, customerId);
  return (await requireInteraction(caller.tenant, customerId, id)).interaction;
}

/** A customer's interactions, newest first, a page at a time. */
export async function listInteractions(caller: Caller, customerId: string, limit: number, cursor: string | undefined) {
  await visibleCustomer(caller, customerId);
  const scope = JSON.stringify(["interactions", customerId]);
  const start = decodeCursor<Record<string, unknown>>(caller.tenant, scope, cursor);
  const page = await queryInteractions(caller.tenant, customerId, limit, start);
  return { items: page.items, nextCursor: page.state ? encodeCursor(caller.tenant, scope, page.state) : null };
}

const invalid = (path: string, message: string) => new ValidationError("request body is invalid", [{ path, message }]);

/**
 * Edits the summary, or resolves (`state: "resolved"`, optional `resolution`) or reopens (`state: "open"`) a
 * complaint, if `expected` is still its version. Resolving and reopening move the open-complaint counters.
 */
export async function patchInteraction(
  caller: Caller,
  customerId: string,
  id: string,
  patch: InteractionPatch,
  expected: number,
  requestId?: string,
): Promise<Interaction> {
  const { v } = await visibleCustomer(caller, customerId);
  requireWrite(v);
  const { interaction: before, dims } = await requireInteraction(caller.tenant, customerId, id);
  if (before.version !== expected) {
    throw new ConflictError(`interaction ${id} is at version ${before.version}, not ${expected}; read it again`);
  }
  const isComplaint = before.kind === "complaint";
  if (!isComplaint && patch.state !== undefined) throw invalid("state", "only complaints are opened and resolved");
  if (!isComplaint && patch.resolution != null) throw invalid("resolution", "only complaints have a resolution");
  const now = new Date().toISOString();
  const after: Record<string, unknown> = { ...before };
  if (patch.summary === null) delete after.summary;
  else if (patch.summary !== undefined) after.summary = patch.summary;
  const state = patch.state ?? before.state;
  if (state !== before.state) {
    after.state = state;
    if (state === "resolved") Object.assign(after, { resolvedAt: now, resolvedBy: caller.userId });
    else for (const k of ["resolvedAt", "resolvedBy", "resolution"]) delete after[k];
  }
  if (patch.resolution === null) delete after.resolution;
  else if (patch.resolution !== undefined) {
    if (state !== "resolved") throw invalid("resolution", "a resolution belongs to a resolved complaint");
    after.resolution = patch.resolution;
  }
  if (JSON.stringify(after) === JSON.stringify(before)) return before;
  Object.assign(after, { version: before.version + 1, updatedAt: now, updatedBy: caller.userId });
  const next = after as Interaction;
  await replaceInteraction(caller.tenant, before, next, dims, stateDelta(before.state, next.state), [
    audit(caller, "update", next, before, requestId),
  ]);
  await reclassify(caller.tenant, customerId);
  return next;
}
