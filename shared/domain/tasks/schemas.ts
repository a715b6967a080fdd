// Follow-up task schemas: create, patch (complete, snooze, reassign, edit), list query, and the stored shape.
import * as z from "zod";
import { PrincipalIdSchema } from "../customers/schemas.ts";

export const TASK_PRIORITIES = ["low", "normal", "high", "urgent"] as const;
export const TASK_STATUSES = ["open", "done"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

const Id = z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, "not an id");
const Instant = z.iso
  .datetime({ offset: true, message: "an ISO-8601 date-time" })
  .transform((s) => new Date(s).toISOString());

export const TaskCreateSchema = z.strictObject({
  customerId: Id,
  contactId: Id.optional(),
  orderId: Id.optional(),
  title: z.string().trim().min(1, "must not be empty").max(200),
  note: z.string().trim().max(2000).optional(),
  assigneeId: PrincipalIdSchema.optional(),
  dueAt: Instant,
  priority: z.enum(TASK_PRIORITIES).default("normal"),
});
export type TaskCreate = z.infer<typeof TaskCreateSchema>;

/** `status: "done"` completes, `snoozeUntil` moves the due time later, `assigneeId` reassigns; the rest edits. */
export const TaskPatchSchema = z
  .strictObject({
    version: z.number().int().min(1).optional(),
    status: z.enum(TASK_STATUSES).optional(),
    snoozeUntil: Instant.optional(),
    assigneeId: PrincipalIdSchema.optional(),
    title: z.string().trim().min(1, "must not be empty").max(200).optional(),
    note: z.string().trim().max(2000).nullable().optional(),
    priority: z.enum(TASK_PRIORITIES).optional(),
    dueAt: Instant.optional(),
  })
  .refine((p) => Object.keys(p).some((k) => k !== "version"), { message: "nothing to change" })
  .refine((p) => !(p.snoozeUntil && p.dueAt), { message: "give snoozeUntil or dueAt, not both", path: ["dueAt"] });
export type TaskPatch = z.infer<typeof TaskPatchSchema>;

export const TaskListQuerySchema = z.strictObject({
  customerId: Id.optional(),
  /** Whose tasks (default: the caller's own, unless `customerId` is given). */
  assignee: PrincipalIdSchema.optional(),
  status: z.enum(TASK_STATUSES).default("open"),
  dueFrom: Instant.optional(),
  dueTo: Instant.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(4096).optional(),
});
export type TaskListQuery = z.infer<typeof TaskListQuerySchema>;

export interface Task {
  id: string;
  customerId: string;
  contactId?: string;
  orderId?: string;
  title: string;
  note?: string;
  assigneeId: string;
  dueAt: string;
  priority: (typeof TASK_PRIORITIES)[number];
  status: TaskStatus;
  snoozedUntil?: string;
  completedAt?: string;
  completedBy?: string;
  /** Set on tasks a reminder rule created: the rule and the period it fired for. */
  ruleId?: string;
  period?: string;
  escalatedAt?: string;
  escalatedTo?: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  updatedBy: string;
}
