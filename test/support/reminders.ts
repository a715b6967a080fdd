// Reminder test helpers: customers whose last activity lies in the past (written straight to the table, since the
// API stamps creation with the real clock), rules, and readers of what a tick produced.
import { newId } from "../../shared/db/ids.ts";
import type { Caller } from "../../shared/auth/claims.ts";
import { insertCustomer, readCollection } from "../../shared/domain/customers/repository.ts";
import type { Customer } from "../../shared/domain/customers/schemas.ts";
import { queryInbox } from "../../shared/domain/reminders/repository.ts";
import { type ReminderRuleInput, ReminderRuleInputSchema } from "../../shared/domain/reminders/schemas.ts";
import { createRule } from "../../shared/domain/reminders/service.ts";
import type { Task } from "../../shared/domain/tasks/schemas.ts";
import { searchTokens } from "../../shared/domain/validation/index.ts";

export const DAY = 86_400_000;
let seq = 0;

/** A customer created (last active) at `createdAt`, with the given fields. */
export async function pastCustomer(
  caller: Caller,
  createdAt: string,
  fields: Partial<Customer> = {},
): Promise<Customer> {
  const id = newId(Date.parse(createdAt));
  const c: Customer = {
    id,
    code: `R${process.pid}-${++seq}-${id.slice(-6)}`,
    name: `提醒测试客户${seq}`,
    type: "enterprise",
    stage: "formal",
    ownerId: caller.userId,
    categories: {},
    stats: { contactCount: 0 },
    version: 1,
    createdAt,
    updatedAt: createdAt,
    createdBy: caller.userId,
    updatedBy: caller.userId,
    ...fields,
  };
  await insertCustomer(caller.tenant, c, searchTokens(c.name, c.code), []);
  return c;
}

export async function aRule(caller: Caller, input: Record<string, unknown>) {
  const rule = ReminderRuleInputSchema.parse({ name: "跟进", assignee: "owner", ...input }) as ReminderRuleInput;
  return (await createRule(caller, rule, undefined)).body as { id: string; version: number };
}

/** Every task (open or done) in a customer's collection. */
export async function tasksOf(tenant: string, customerId: string): Promise<Task[]> {
  return (await readCollection(tenant, customerId)).filter((i) => i.entity === "task") as unknown as Task[];
}

export async function inboxOf(tenant: string, userId: string) {
  return (await queryInbox(tenant, userId, undefined, 200, undefined)).items;
}
