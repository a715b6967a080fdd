// Reminder rule schemas (API.md "reminder rule"), notifications, and the reminders queue's messages.
import * as z from "zod";
import { fieldKind, RuleConditionSchema } from "../conditions/condition.ts";
import { PrincipalIdSchema } from "../customers/schemas.ts";
import { ORDER_STATUSES } from "../orders/status.ts";

/**
 * The date field naming the birthdays of a customer's contacts: a date rule on it fires every year, once per contact
 * (period `birthday:<contactId>:<year>`), found through the contacts' birthday index.
 */
export const BIRTHDAY_FIELD = "contacts.birthday";

const Days = z.number().int().min(0).max(3650);

export const TriggerSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("inactivity"), days: Days.min(1) }),
  z.strictObject({ type: z.literal("after_order"), status: z.enum(ORDER_STATUSES), days: Days }),
  z
    .strictObject({
      type: z.literal("date"),
      field: z
        .string()
        .max(128)
        .refine(
          (f) =>
            f === BIRTHDAY_FIELD ||
            fieldKind(f) === "date" ||
            (fieldKind(f) === "any" && f.startsWith("customFields.")),
          {
            message:
              "a date field of the customer (createdAt, a stats date or customFields.<name> holding a date) or contacts.birthday",
          },
        ),
      daysBefore: Days,
    })
    .refine((t) => t.field !== BIRTHDAY_FIELD || t.daysBefore <= 365, {
      path: ["daysBefore"],
      message: "at most 365 for birthdays (they come every year)",
    }),
]);
export type Trigger = z.infer<typeof TriggerSchema>;

/** Where a reminder goes besides the assignee's in-app inbox (always). */
export const ChannelSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("inbox") }),
  z.strictObject({
    type: z.literal("webhook"),
    url: z.url({ protocol: /^https?$/, message: "an http(s) URL" }).max(2000),
    /** HMAC-SHA256 key; the body's signature goes in `X-Reminder-Signature: sha256=<hex>`. */
    secret: z.string().min(16, "at least 16 characters").max(200),
  }),
  z.strictObject({ type: z.literal("email"), to: z.array(z.email()).min(1).max(10).optional() }),
]);
export type Channel = z.infer<typeof ChannelSchema>;

export const ReminderRuleInputSchema = z.strictObject({
  version: z.number().int().min(1).optional(),
  name: z.string().trim().min(1, "must not be empty").max(100),
  /** Which customers the rule is about (any customer field, category or stat); absent: every customer. */
  when: RuleConditionSchema.optional(),
  trigger: TriggerSchema,
  /** `owner` (the customer's owner when the reminder fires) or a user id. */
  assignee: z.union([z.literal("owner"), PrincipalIdSchema]),
  channels: z
    .array(ChannelSchema)
    .max(5)
    .default([{ type: "inbox" }]),
  /** An open task created by the rule escalates to the customer owner's manager once overdue by this long. */
  escalateAfterHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .default(48),
  enabled: z.boolean().default(true),
});
export type ReminderRuleInput = z.infer<typeof ReminderRuleInputSchema>;

export interface ReminderRule extends Omit<ReminderRuleInput, "version"> {
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  updatedBy: string;
}

export interface Notification {
  id: string;
  userId: string;
  kind: "reminder" | "escalation";
  title: string;
  customerId: string;
  taskId: string;
  ruleId?: string;
  period?: string;
  read: boolean;
  readAt?: string;
  createdAt: string;
}

export const NotificationListQuerySchema = z.strictObject({
  unread: z.enum(["true", "false"]).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(4096).optional(),
});

export const NotificationPatchSchema = z.strictObject({ read: z.boolean() });

const Tenant = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/, "not a tenant id");

/** The reminders queue: a schedule tick (fans out per tenant) or one tenant's share of a tick. */
export const ReminderMessageSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("tick"), scheduledAt: z.string().optional() }),
  z.strictObject({ kind: z.literal("tenant"), tenant: Tenant, scheduledAt: z.string().optional() }),
]);
export type ReminderMessage = z.infer<typeof ReminderMessageSchema>;
