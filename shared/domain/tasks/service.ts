// Follow-up task use cases: create (idempotent), read, complete / snooze / reassign / edit with optimistic locking, and
// list by assignee, customer and due window. A task is visible exactly when its customer is (data scope, tenant).
// adapter --> (use case) --> domain & repositories
import type { Caller } from "../../auth/claims.ts";
import { decodeCursor, encodeCursor } from "../../db/cursor.ts";
import { isId, newId } from "../../db/ids.ts";
import { ConflictError, NotFoundError, ValidationError } from "../../http/errors.ts";
import { type AuditAction, auditPut } from "../audit/audit.ts";
import { getContact } from "../contacts/repository.ts";
import { batchGetProfiles } from "../customers/repository.ts";
import { visibleCustomer } from "../customers/service.ts";
import { type IdempotencyContext, once } from "../idempotency/idempotency.ts";
import { canSee, requireWrite, resolveViewer, type Viewer } from "../org/viewer.ts";
import {
  followUpStamp,
  getTaskItem,
  insertTask,
  orderExists,
  queryByAssignee,
  queryByCustomer,
  replaceTask,
  taskCustomerId,
} from "./repository.ts";
import type { Task, TaskCreate, TaskListQuery, TaskPatch } from "./schemas.ts";

const invalid = (path: string, message: string) => new ValidationError("request body is invalid", [{ path, message }]);

const taskAudit = (caller: Caller, action: AuditAction, t: Task, before: Task | null, requestId: string | undefined) =>
  auditPut(caller.tenant, {
    at: t.updatedAt,
    actor: caller.userId,
    action,
    entityType: "task",
    entityId: t.id,
    parentId: t.customerId,
    before: before && { ...before },
    after: { ...t },
    requestId,
  });

/** Creates a follow-up of a customer the caller may see (404 otherwise); replays on a repeated Idempotency-Key. */
export async function createTask(
  caller: Caller,
  input: TaskCreate,
  idem: IdempotencyContext | undefined,
  requestId?: string,
) {
  const { v } = await visibleCustomer(caller, input.customerId);
  requireWrite(v);
  return once(idem, async (record) => {
    const [contact, order] = await Promise.all([
      input.contactId ? getContact(caller.tenant, input.customerId, input.contactId) : undefined,
      input.orderId ? orderExists(caller.tenant, input.customerId, input.orderId) : undefined,
    ]);
    if (input.contactId && !contact) throw invalid("contactId", "not a contact of this customer");
    if (input.orderId && !order) throw invalid("orderId", "not an order of this customer");
    const at = new Date().toISOString();
    const task: Task = {
      id: newId(),
      customerId: input.customerId,
      ...(input.contactId ? { contactId: input.contactId } : {}),
      ...(input.orderId ? { orderId: input.orderId } : {}),
      title: input.title,
      ...(input.note ? { note: input.note } : {}),
      assigneeId: input.assigneeId ?? caller.userId,
      dueAt: input.dueAt,
      priority: input.priority,
      status: "open",
      version: 1,
      createdAt: at,
      updatedAt: at,
      createdBy: caller.userId,
      updatedBy: caller.userId,
    };
    const result = { status: 201, body: task };
    const extras = [record(result), taskAudit(caller, "create", task, null, requestId)].filter((x) => x !== undefined);
    await insertTask(caller.tenant, task, extras);
    return result;
  });
}

/** The task and the viewer, when the caller may see the task's customer; anything else is a 404. */
async function visibleTask(caller: Caller, id: string): Promise<{ v: Viewer; task: Task }> {
  const missing = () => new NotFoundError(`task ${id} not found`);
  if (!isId(id)) throw missing();
  const customerId = await taskCustomerId(caller.tenant, id);
  if (!customerId) throw missing();
  const [{ v }, task] = await Promise.all([
    visibleCustomer(caller, customerId).catch((err: unknown) => {
      throw err instanceof NotFoundError ? missing() : err;
    }),
    getTaskItem(caller.tenant, customerId, id),
  ]);
  if (!task) throw missing();
  return { v, task };
}

export async function getTask(caller: Caller, id: string): Promise<Task> {
  return (await visibleTask(caller, id)).task;
}

/**
 * Completes (`status: "done"`, which also counts as activity on the customer: inactivity reminders start over),
 * reopens, snoozes (`snoozeUntil`, later than the current due time), reassigns or edits a task, if `expected` is still
 * its version.
 */
export async function patchTask(
  caller: Caller,
  id: string,
  patch: TaskPatch,
  expected: number,
  requestId?: string,
): Promise<Task> {
  const { v, task: before } = await visibleTask(caller, id);
  requireWrite(v);
  if (before.version !== expected) {
    throw new ConflictError(`task ${id} is at version ${before.version}, not ${expected}; read it again`);
  }
  const now = new Date().toISOString();
  const after: Record<string, unknown> = { ...before };
  if (patch.title !== undefined) after.title = patch.title;
  if (patch.note === null) delete after.note;
  else if (patch.note !== undefined) after.note = patch.note;
  if (patch.priority !== undefined) after.priority = patch.priority;
  if (patch.assigneeId !== undefined) after.assigneeId = patch.assigneeId;
  if (patch.dueAt !== undefined) {
    after.dueAt = patch.dueAt;
    delete after.escalatedAt;
    delete after.escalatedTo;
  }
  if (patch.snoozeUntil !== undefined) {
    if (before.status !== "open") throw invalid("snoozeUntil", "only an open task can be snoozed");
    if (patch.snoozeUntil <= before.dueAt) throw invalid("snoozeUntil", "must be later than the task's due time");
    Object.assign(after, { dueAt: patch.snoozeUntil, snoozedUntil: patch.snoozeUntil });
    // A snoozed task is due again later; its escalation starts over from the new due time.
    delete after.escalatedAt;
    delete after.escalatedTo;
  }
  const completing = patch.status === "done" && before.status !== "done";
  if (patch.status !== undefined && patch.status !== before.status) {
    after.status = patch.status;
    if (patch.status === "done") Object.assign(after, { completedAt: now, completedBy: caller.userId });
    else for (const k of ["completedAt", "completedBy"]) delete after[k];
  }
  if (JSON.stringify(after) === JSON.stringify(before)) return before;
  Object.assign(after, { version: before.version + 1, updatedAt: now, updatedBy: caller.userId });
  const next = after as unknown as Task;
  await replaceTask(caller.tenant, before, next, [
    ...(completing ? [followUpStamp(caller.tenant, before.customerId, now)] : []),
    taskAudit(caller, "update", next, before, requestId),
  ]);
  return next;
}

/**
 * Tasks of one customer (`customerId`), or of one assignee (default: the caller), of one status, by due time within
 * [dueFrom, dueTo]. Only tasks of customers the caller may see are returned; a page may hold fewer than `limit`
 * rows (keep going while `nextCursor` is not null).
 */
export async function listTasks(caller: Caller, q: TaskListQuery) {
  const window = { from: q.dueFrom, to: q.dueTo };
  const { cursor, limit, ...shape } = q;
  const scope = JSON.stringify(["tasks", shape]);
  const start = decodeCursor<Record<string, unknown>>(caller.tenant, scope, cursor);
  if (q.customerId) {
    await visibleCustomer(caller, q.customerId);
    let page = await queryByCustomer(caller.tenant, q.customerId, q.status, window, limit, start);
    if (q.assignee) page = { ...page, items: page.items.filter((t) => t.assigneeId === q.assignee) };
    return { items: page.items, nextCursor: page.state ? encodeCursor(caller.tenant, scope, page.state) : null };
  }
  const v = await resolveViewer(caller);
  const page = await queryByAssignee(caller.tenant, q.assignee ?? caller.userId, q.status, window, limit, start);
  const profiles = await batchGetProfiles(caller.tenant, [...new Set(page.items.map((t) => t.customerId))]);
  const items = page.items.filter((t) => {
    const c = profiles.get(t.customerId);
    return !!c && !c.deletedAt && canSee(v, c);
  });
  return { items, nextCursor: page.state ? encodeCursor(caller.tenant, scope, page.state) : null };
}
