// Reminder rule use cases (admin: create, replace, delete; everyone: read) and the caller's notifications inbox.
// adapter --> (use case) --> domain & repositories
import type { Caller } from "../../auth/claims.ts";
import { decodeCursor, encodeCursor } from "../../db/cursor.ts";
import { isId, newId } from "../../db/ids.ts";
import { transact } from "../../db/transact.ts";
import { ConflictError, NotFoundError } from "../../http/errors.ts";
import { type AuditAction, auditPut } from "../audit/audit.ts";
import { type IdempotencyContext, once } from "../idempotency/idempotency.ts";
import { requireAdmin, resolveViewer } from "../org/viewer.ts";
import {
  getRule,
  listRules,
  markNotification,
  queryInbox,
  ruleDeleteItems,
  ruleInsertItems,
  ruleReplaceItems,
} from "./repository.ts";
import type { ReminderRule, ReminderRuleInput } from "./schemas.ts";

/** A rule as the API shows it: webhook secrets are write-only. */
export function presentRule(r: ReminderRule) {
  return {
    ...r,
    channels: r.channels.map((c) => (c.type === "webhook" ? { type: c.type, url: c.url, secret: "********" } : c)),
  };
}

const ruleAudit = (
  caller: Caller,
  action: AuditAction,
  id: string,
  at: string,
  before: ReminderRule | null,
  after: ReminderRule | null,
  requestId: string | undefined,
) =>
  auditPut(caller.tenant, {
    at,
    actor: caller.userId,
    action,
    entityType: "reminder-rule",
    entityId: id,
    before: before && presentRule(before),
    after: after && presentRule(after),
    requestId,
  });

const fields = (input: ReminderRuleInput) => {
  const { version: _v, ...rest } = input;
  return rest;
};

export async function createRule(
  caller: Caller,
  input: ReminderRuleInput,
  idem: IdempotencyContext | undefined,
  requestId?: string,
) {
  requireAdmin(await resolveViewer(caller));
  return once(idem, async (record) => {
    const at = new Date().toISOString();
    const rule: ReminderRule = {
      id: newId(),
      ...fields(input),
      version: 1,
      createdAt: at,
      updatedAt: at,
      createdBy: caller.userId,
      updatedBy: caller.userId,
    };
    const result = { status: 201, body: presentRule(rule) };
    await transact([
      ...ruleInsertItems(caller.tenant, rule),
      ruleAudit(caller, "create", rule.id, at, null, rule, requestId),
      ...[record(result)].filter((x) => x !== undefined),
    ]);
    return result;
  });
}

async function requireRule(tenant: string, id: string): Promise<ReminderRule> {
  const rule = isId(id) ? await getRule(tenant, id) : undefined;
  if (!rule) throw new NotFoundError(`reminder rule ${id} not found`);
  return rule;
}

export async function readRule(caller: Caller, id: string) {
  await resolveViewer(caller);
  return presentRule(await requireRule(caller.tenant, id));
}

export async function readRules(caller: Caller) {
  await resolveViewer(caller);
  const rules = await listRules(caller.tenant);
  return { items: rules.map(presentRule), nextCursor: null };
}

/**
 * Replaces a rule if `expected` is still its version. A change of what it selects (`when`, `trigger`) re-plans it:
 * its watermark is dropped, so the next tick looks at every customer again; what already fired for a period does
 * not fire again (the guards stay).
 */
export async function replaceRule(
  caller: Caller,
  id: string,
  input: ReminderRuleInput,
  expected: number,
  requestId?: string,
) {
  requireAdmin(await resolveViewer(caller));
  const before = await requireRule(caller.tenant, id);
  if (before.version !== expected) {
    throw new ConflictError(`rule ${id} is at version ${before.version}, not ${expected}; read it again`);
  }
  const at = new Date().toISOString();
  const after: ReminderRule = {
    ...fields(input),
    id,
    version: before.version + 1,
    createdAt: before.createdAt,
    createdBy: before.createdBy,
    updatedAt: at,
    updatedBy: caller.userId,
  };
  const replan =
    JSON.stringify([before.when ?? null, before.trigger, before.enabled]) !==
    JSON.stringify([after.when ?? null, after.trigger, after.enabled]);
  await transact([
    ...ruleReplaceItems(caller.tenant, after, expected, replan),
    ruleAudit(caller, "update", id, at, before, after, requestId),
  ]);
  return presentRule(after);
}

export async function deleteRule(caller: Caller, id: string, expected: number | undefined, requestId?: string) {
  requireAdmin(await resolveViewer(caller));
  const before = await requireRule(caller.tenant, id);
  const at = new Date().toISOString();
  await transact([
    ...ruleDeleteItems(caller.tenant, id, expected),
    ruleAudit(caller, "delete", id, at, before, null, requestId),
  ]);
}

/** The caller's own notifications, newest first (nobody reads anyone else's inbox). */
export async function listNotifications(
  caller: Caller,
  q: { unread?: "true" | "false" | undefined; limit: number; cursor?: string | undefined },
) {
  const scope = JSON.stringify(["inbox", caller.userId, q.unread ?? null]);
  const start = decodeCursor<Record<string, unknown>>(caller.tenant, scope, q.cursor);
  const unread = q.unread === undefined ? undefined : q.unread === "true";
  const page = await queryInbox(caller.tenant, caller.userId, unread, q.limit, start);
  return { items: page.items, nextCursor: page.state ? encodeCursor(caller.tenant, scope, page.state) : null };
}

export async function markRead(caller: Caller, id: string, read: boolean) {
  if (!isId(id)) throw new NotFoundError(`notification ${id} not found`);
  return markNotification(caller.tenant, caller.userId, id, read, new Date().toISOString());
}
