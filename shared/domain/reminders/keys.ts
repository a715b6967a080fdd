// Every DynamoDB key of reminder rules, their planning state, fired guards, replan markers and notifications.
import { shardOf } from "../../db/ids.ts";

export const reminderKeys = {
  /** A tenant's rules (few: one partition) and each rule's planning state (its watermark) next to it. */
  rulesPk: (tenant: string) => `T#${tenant}#REMRULES`,
  ruleSk: (id: string) => `RULE#${id}`,
  rulePrefix: () => "RULE#",
  stateSk: (id: string) => `STATE#${id}`,
  /** The tenant's rules token, moved by every rule write (see repository.ts `rulesUnchanged`). */
  rulesTokenSk: () => "TOKEN",

  /**
   * The tenants that have reminder rules, for the schedule's fan-out. The only key not led by a tenant: it lists
   * tenant ids and nothing else, and is read by the reminder worker alone.
   */
  tenantsPk: () => "SYS#REMINDER-TENANTS",
  tenantSk: (tenant: string) => tenant,

  /**
   * One guard per rule, customer and period, written with attribute_not_exists in the transaction that creates the
   * task and the notification: a second fire of the same period fails the condition and writes nothing.
   */
  firedPk: (tenant: string, ruleId: string, customerId: string) => `T#${tenant}#REMFIRED#${ruleId}#${customerId}`,
  firedSk: (period: string) => period,

  /**
   * One record per e-mail a fired reminder sends (rule, customer, period, channel): claimed before the SES call and
   * marked sent after it, so a retried or repeated delivery of the same reminder does not send it again.
   */
  sentPk: (tenant: string, ruleId: string, customerId: string) => `T#${tenant}#REMSENT#${ruleId}#${customerId}`,
  sentSk: (period: string, channel: number) => `${period}#${channel}`,

  /**
   * Date triggers: one plan item per (rule, customer) on a shard of the rule, sorted by the local day the reminder
   * becomes due (`<due date>#<customerId>`), so a tick reads `due date <= today` as a range.
   */
  datePlanPk: (tenant: string, ruleId: string, shard: number) => `T#${tenant}#REMDATE#${ruleId}#${shard}`,
  datePlanSk: (dueFrom: string, customerId: string) => `${dueFrom}#${customerId}`,

  /** A customer whose fields changed in a way rules may read (reclassified, edited): re-planned on the next tick. */
  replanPk: (tenant: string, shard: number) => `T#${tenant}#REMREPLAN#${shard}`,
  replanSk: (customerId: string) => customerId,
  shard: (id: string, shards: number) => shardOf(id, shards),

  /** A user's inbox, newest first (ULID sort keys). */
  inboxPk: (tenant: string, userId: string) => `T#${tenant}#INBOX#${userId}`,
  inboxSk: (id: string) => id,
};
