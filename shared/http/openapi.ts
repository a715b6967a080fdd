// The OpenAPI 3.1 document, generated from the same zod schemas the handlers validate with.
import * as z from "zod";
import { httpFunctions } from "../../functions/manifest.ts";
import { AuditQuerySchema as AuditQuerySchemaDoc } from "../domain/audit/query.ts";
import {
  ContactCreateSchema,
  ContactListQuerySchema,
  ContactListSchema,
  ContactPatchSchema,
  ContactSchema,
} from "../domain/contacts/schemas.ts";
import {
  CustomerCreateSchema,
  CustomerListQuerySchema,
  CustomerListSchema,
  CustomerPatchSchema,
  CustomerSchema,
} from "../domain/customers/schemas.ts";
import {
  DepartmentCreateSchema,
  DepartmentPatchSchema,
  DepartmentSchema,
  UserPutSchema,
  UserSchema,
} from "../domain/org/schemas.ts";
import { HandoverSchema } from "../domain/org/handover.ts";
import { SatisfactionQuerySchema, SatisfactionReportSchema } from "../domain/reports/satisfaction.ts";
import {
  InteractionCreateSchema,
  InteractionListQuerySchema,
  InteractionListSchema,
  InteractionPatchSchema,
  InteractionSchema,
} from "../domain/interactions/schemas.ts";
import { JOB_STATUSES, JOB_TYPES } from "../domain/jobs/schemas.ts";
import {
  BackupListQuerySchema,
  BackupSchema,
  PointInTimeQuerySchema,
  RestoreRequestSchema,
} from "../domain/backups/schemas.ts";
import { SettingsPutSchema } from "../domain/settings/settings.ts";
import {
  ActionBodySchema,
  OrderCreateSchema,
  OrderListQuerySchema,
  OrderPatchSchema,
  PaymentSchema,
} from "../domain/orders/schemas.ts";
import { SalesQuerySchema, TopCustomersQuerySchema } from "../domain/orders/reports.ts";
import {
  ExportStartSchema,
  ImportStartSchema,
  ListQuerySchema,
  TemplateQuerySchema,
} from "../domain/imports/schemas.ts";
import { BatchUpdateSchema } from "../domain/exports/batch-update.ts";
import {
  HistoryQuerySchema,
  PreviewInputSchema,
  SchemeInputSchema,
  SchemeQuerySchema,
} from "../domain/classification/schemas.ts";
import { ValueModelSchema } from "../domain/classification/value.ts";
import {
  NotificationListQuerySchema,
  NotificationPatchSchema,
  ReminderRuleInputSchema,
} from "../domain/reminders/schemas.ts";
import { TaskCreateSchema, TaskListQuerySchema, TaskPatchSchema } from "../domain/tasks/schemas.ts";

interface Op {
  summary: string;
  body?: z.ZodType;
  query?: z.ZodObject;
  response?: z.ZodType;
  status?: number;
  idempotent?: boolean;
  ifMatch?: boolean;
}

const JobSchema = z.object({
  id: z.string(),
  type: z.enum(JOB_TYPES),
  status: z.enum(JOB_STATUSES),
  processed: z.number().int(),
  total: z.number().int(),
  percent: z.number(),
  counts: z.record(z.string(), z.number()),
  errors: z.array(z.object({ id: z.string(), message: z.string() })),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  failureReason: z.string().optional(),
});

const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

/** What each route takes and returns; routes missing here still appear, from the manifest, with a bare entry. */
const ops: Record<string, Op> = {
  "GET /v1/health": { summary: "Liveness", response: z.object({ status: z.literal("ok") }) },
  "POST /v1/customers": {
    summary: "Create a customer (code numbered from the tenant pattern when absent)",
    body: CustomerCreateSchema,
    response: CustomerSchema,
    status: 201,
    idempotent: true,
  },
  "GET /v1/customers": {
    summary: "List, filter and search customers (q: prefix of name, code or pinyin)",
    query: CustomerListQuerySchema,
    response: CustomerListSchema,
  },
  "GET /v1/customers/{id}": { summary: "Read a customer", response: CustomerSchema },
  "PATCH /v1/customers/{id}": {
    summary: "Update a customer (If-Match or body version required; null clears a field)",
    body: CustomerPatchSchema,
    response: CustomerSchema,
    ifMatch: true,
  },
  "DELETE /v1/customers/{id}": { summary: "Move a customer to the recycle bin", response: CustomerSchema },
  "POST /v1/customers/{id}/restore": {
    summary:
      "Restore a customer from the recycle bin; with ?at= (admin) its profile, contacts, orders and interactions as " +
      "they were then (children created since deleted, deleted ones brought back, each change audited as `restore`, " +
      "stats moved to match), from the latest backup before that time plus the audit log after it. 422 without a " +
      "backup before `at`; 409 when the customer did not exist or was in the bin at `at`, or changed meanwhile " +
      "(repeat the call: it carries on)",
    query: PointInTimeQuerySchema,
    response: CustomerSchema,
  },
  "GET /v1/customers/{id}/360": {
    summary: "Profile, contacts, orders, interactions, open tasks, categories, value score (one Query)",
    response: z.object({ customer: CustomerSchema, contacts: z.array(ContactSchema) }).loose(),
  },
  "POST /v1/customers/{id}/contacts": {
    summary: "Add a contact",
    body: ContactCreateSchema,
    response: ContactSchema,
    status: 201,
    idempotent: true,
  },
  "GET /v1/customers/{id}/contacts": {
    summary: "List a customer's contacts",
    query: ContactListQuerySchema,
    response: ContactListSchema,
  },
  "GET /v1/customers/{id}/contacts/{contactId}": { summary: "Read a contact", response: ContactSchema },
  "PATCH /v1/customers/{id}/contacts/{contactId}": {
    summary: "Update a contact",
    body: ContactPatchSchema,
    response: ContactSchema,
    ifMatch: true,
  },
  "DELETE /v1/customers/{id}/contacts/{contactId}": { summary: "Delete a contact", status: 204 },
  "POST /v1/customers/{id}/interactions": {
    summary: "Record a call, visit, e-mail, meeting, complaint or survey (moves the customer's stats)",
    body: InteractionCreateSchema,
    response: InteractionSchema,
    status: 201,
    idempotent: true,
  },
  "GET /v1/customers/{id}/interactions": {
    summary: "A customer's interactions, newest first",
    query: InteractionListQuerySchema,
    response: InteractionListSchema,
  },
  "GET /v1/customers/{id}/interactions/{interactionId}": {
    summary: "Read an interaction",
    response: InteractionSchema,
  },
  "PATCH /v1/customers/{id}/interactions/{interactionId}": {
    summary: "Edit the summary; resolve or reopen a complaint (If-Match or body version required)",
    body: InteractionPatchSchema,
    response: InteractionSchema,
    ifMatch: true,
  },
  "GET /v1/reports/satisfaction": {
    summary: "Average survey score, surveys and complaints per month, region, industry, level or owner (in scope)",
    query: SatisfactionQuerySchema,
    response: SatisfactionReportSchema,
  },
  "POST /v1/orders": {
    summary: "Create a draft order for a customer in scope (amounts are decimal strings, at most 2 places)",
    body: OrderCreateSchema,
    status: 201,
    idempotent: true,
  },
  "GET /v1/orders": {
    summary: "Orders in the caller's data scope (or of one customer), newest first",
    query: OrderListQuerySchema,
  },
  "GET /v1/orders/{id}": { summary: "Read an order (overdue computed at read time)" },
  "PATCH /v1/orders/{id}": {
    summary: "Change a draft's lines or note (If-Match or body version required)",
    body: OrderPatchSchema,
    ifMatch: true,
  },
  "POST /v1/orders/{id}/{action}": {
    summary:
      "action = submit | approve | reject | ship | return | cancel (body: reason, lines for a partial return; 409 when not allowed from the status), or payments (body: amount, at, method; 201; Idempotency-Key honoured)",
    body: ActionBodySchema.or(PaymentSchema),
    ifMatch: true,
    idempotent: true,
  },
  "GET /v1/reports/sales": {
    summary:
      "Revenue, orders, customers per month/region/industry/level/owner with growth and a trend forecast (in scope)",
    query: SalesQuerySchema,
  },
  "GET /v1/reports/top-customers": {
    summary: "Customers by revenue in the period (in scope)",
    query: TopCustomersQuerySchema,
  },
  "GET /v1/audit": { summary: "Change history by entityId or userId", query: AuditQuerySchemaDoc },
  "GET /v1/audit/verify": { summary: "Recompute the tenant's audit hash chains; names the first broken entry (admin)" },
  "GET /v1/departments": {
    summary: "The department tree, flat in path order",
    response: z.object({ items: z.array(DepartmentSchema), nextCursor: z.null() }),
  },
  "POST /v1/departments": {
    summary: "Create a department (admin)",
    body: DepartmentCreateSchema,
    response: DepartmentSchema,
    status: 201,
  },
  "PATCH /v1/departments/{id}": {
    summary: "Rename a department (admin)",
    body: DepartmentPatchSchema,
    response: DepartmentSchema,
    ifMatch: true,
  },
  "GET /v1/users/{id}": { summary: "A user's role, department and data scope", response: UserSchema },
  "PUT /v1/users/{id}": {
    summary: "Set a user's roles, department and data scope (admin; effective on the next request)",
    body: UserPutSchema,
    response: UserSchema,
    ifMatch: true,
  },
  "POST /v1/users/{id}/handover": {
    summary: "Move every customer of a user to another user, as a background job (admin)",
    body: HandoverSchema,
    response: z.object({ jobId: z.string() }),
    status: 202,
    idempotent: true,
  },
  "GET /v1/jobs/{id}": { summary: "A background job's status and progress", response: JobSchema },
  "POST /v1/backups": {
    summary: "Back up the tenant now, as a job (admin); the backup's id is the job's",
    response: z.object({ jobId: z.string(), backupId: z.string() }),
    status: 202,
    idempotent: true,
  },
  "GET /v1/backups": {
    summary: "The tenant's backups with their manifests, newest first (admin)",
    query: BackupListQuerySchema,
    response: z.object({ items: z.array(BackupSchema) }),
  },
  "GET /v1/backups/{id}": { summary: "One backup, its manifest and its latest drill (admin)", response: BackupSchema },
  "POST /v1/backups/{id}/restore": {
    summary:
      "Restore drill into a scratch namespace, or replace the tenant's data with the backup (admin), as a job. A " +
      "drill that finds a chunk not restoring as recorded ends its job `failed`, with the chunks and why in " +
      "`failureReason` (and `drill.failedChunks` on the backup). One replace of a tenant at a time: another is 409 " +
      "while one is queued or running",
    body: RestoreRequestSchema,
    response: z.object({ jobId: z.string() }),
    status: 202,
    idempotent: true,
  },
  "POST /v1/imports": {
    summary:
      "Start an import of customers, contacts or orders: a job waiting for its file (CSV UTF-8/GBK/GB18030 or XLSX), " +
      "and a presigned PUT URL to upload it to. Orders: one row per line, rows with the same order number form one " +
      "order, matched on that number (matchOn code); imported and updated customers are reclassified by the import",
    body: ImportStartSchema,
    response: z.object({
      id: z.string(),
      status: z.string(),
      uploadUrl: z.string(),
      uploadMethod: z.literal("PUT"),
      uploadExpiresAt: z.string(),
    }),
    status: 201,
    idempotent: true,
  },
  "GET /v1/imports": { summary: "Imports, newest first (an admin's: all of the tenant's)", query: ListQuerySchema },
  "GET /v1/imports/{id}": {
    summary: "An import's progress and counts (inserted, updated, skipped, failed); errorReportUrl when rows failed",
    response: JobSchema.extend({
      errorReportUrl: z.string().optional(),
      encoding: z.string().optional(),
      delimiter: z.enum([",", ";", "\t"]).optional(),
      headerRow: z.number().int().optional(),
    }),
  },
  "GET /v1/imports/templates/{entity}": {
    summary:
      "The template of an entity: customers, contacts or orders, as CSV (UTF-8 with BOM) or ?format=xlsx, Chinese headers",
    query: TemplateQuerySchema,
  },
  "POST /v1/exports": {
    summary:
      "Start an export of the customers the caller may see, or of their contacts or orders (masked as the API shows them)",
    body: ExportStartSchema,
    response: JobSchema,
    status: 202,
    idempotent: true,
  },
  "GET /v1/exports": { summary: "Exports, newest first", query: ListQuerySchema },
  "GET /v1/exports/{id}": {
    summary: "An export's status; downloadUrl once it has succeeded",
    response: JobSchema.extend({ downloadUrl: z.string().optional() }),
  },
  "POST /v1/batch-updates": {
    summary: "Apply one patch (owner, level, stage, industry, tags) to every customer matching a filter, as a job",
    body: BatchUpdateSchema,
    response: z.object({ jobId: z.string() }),
    status: 202,
    idempotent: true,
  },
  "GET /v1/classification/schemes": { summary: "Every classification scheme, built-in and custom (current versions)" },
  "POST /v1/classification/schemes": {
    summary:
      "Create a custom scheme: {id, name, rules: [{value, when}], default} (admin, manager); 400 names a bad rule",
    body: SchemeInputSchema,
    status: 201,
  },
  "GET /v1/classification/schemes/{id}": { summary: "A scheme, or an earlier version of it", query: SchemeQuerySchema },
  "PUT /v1/classification/schemes/{id}": {
    summary: "Replace a scheme's rules as a new version (admin, manager; the previous version stays readable)",
    body: SchemeInputSchema,
    ifMatch: true,
  },
  "POST /v1/classification/schemes/{id}/preview": {
    summary: "Counts per category now and under the scheme (or a proposed rule set), and a sample that would move",
    body: PreviewInputSchema,
  },
  "POST /v1/classification/schemes/{id}/apply": {
    summary: "Recompute every customer's classification as a background job (admin, manager)",
    response: z.object({ jobId: z.string() }),
    status: 202,
    idempotent: true,
  },
  "GET /v1/classification/schemes/{id}/distribution": {
    summary: "Count and revenue per category of the customers in the caller's scope, kept at write time",
  },
  "GET /v1/classification/value-model": { summary: "The tenant's value score model" },
  "PUT /v1/classification/value-model": {
    summary: "Replace the value score model (admin, manager)",
    body: ValueModelSchema,
  },
  "GET /v1/classification/pyramid": { summary: "The value pyramid (top / next / base) over the caller's scope" },
  "GET /v1/customers/{id}/categories": {
    summary: "A customer's categories at a time (`at`, default now) and their change history",
    query: HistoryQuerySchema,
  },
  "POST /v1/tasks": {
    summary: "Create a follow-up task of a customer in scope (optionally a contact or order of it)",
    body: TaskCreateSchema,
    status: 201,
    idempotent: true,
  },
  "GET /v1/tasks": {
    summary: "Tasks of a customer, or of an assignee (default: the caller), by status and due window (in scope)",
    query: TaskListQuerySchema,
  },
  "GET /v1/tasks/{id}": { summary: "Read a task (404 when its customer is outside the caller's scope)" },
  "PATCH /v1/tasks/{id}": {
    summary: 'Complete (status "done"), snooze (snoozeUntil), reassign (assigneeId) or edit a task',
    body: TaskPatchSchema,
    ifMatch: true,
  },
  "POST /v1/reminder-rules": {
    summary: "Create a reminder rule: when (condition), trigger, assignee, channels (admin)",
    body: ReminderRuleInputSchema,
    status: 201,
    idempotent: true,
  },
  "GET /v1/reminder-rules": { summary: "The tenant's reminder rules (webhook secrets hidden)" },
  "GET /v1/reminder-rules/{id}": { summary: "Read a reminder rule" },
  "PUT /v1/reminder-rules/{id}": {
    summary: "Replace a reminder rule (admin); a new when or trigger re-plans it",
    body: ReminderRuleInputSchema,
    ifMatch: true,
  },
  "DELETE /v1/reminder-rules/{id}": { summary: "Delete a reminder rule (admin)", status: 204 },
  "POST /v1/reminder-rules/backfill": {
    summary:
      "Backfill the reminder indexes (customer activity, order status, contact birthdays) of data written before " +
      "they existed, as a job of type reminder-index (admin); idempotent, safe to run again; progress at /v1/jobs/{id}",
    response: z.object({ jobId: z.string() }),
    status: 202,
  },
  "GET /v1/notifications": {
    summary: "The caller's own reminders inbox, newest first",
    query: NotificationListQuerySchema,
  },
  "PATCH /v1/notifications/{id}": {
    summary: "Mark one of the caller's notifications read or unread",
    body: NotificationPatchSchema,
  },
  "GET /v1/settings": { summary: "Tenant settings" },
  "PUT /v1/settings": { summary: "Change tenant settings (admin)", body: SettingsPutSchema, ifMatch: true },
};

const schema = (s: z.ZodType, io: "input" | "output") =>
  z.toJSONSchema(s, { io, unrepresentable: "any", target: "draft-2020-12" }) as Record<string, unknown>;

/** Builds the OpenAPI document for every route in the manifest. */
export function buildOpenApi(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [group, fn] of Object.entries(httpFunctions)) {
    for (const route of fn.routes) {
      const key = `${route.method} ${route.path}`;
      const op = ops[key] ?? { summary: key };
      const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
        name: m[1],
        in: "path",
        required: true,
        schema: { type: "string" },
      }));
      if (op.query) {
        const props = (schema(op.query, "input").properties ?? {}) as Record<string, unknown>;
        for (const [name, s] of Object.entries(props))
          params.push({ name, in: "query", required: false, schema: s as never });
      }
      if (op.idempotent)
        params.push({ name: "Idempotency-Key", in: "header", required: false, schema: { type: "string" } });
      if (op.ifMatch) params.push({ name: "If-Match", in: "header", required: false, schema: { type: "string" } });
      const problem = { "application/problem+json": { schema: schema(Problem, "output") } };
      paths[route.path] ??= {};
      paths[route.path]![route.method.toLowerCase()] = {
        tags: [group],
        summary: op.summary,
        operationId: `${route.method.toLowerCase()}${route.path.replace(/[^A-Za-z0-9]+(\w)?/g, (_m, c: string) => (c ?? "").toUpperCase())}`,
        ...(route.auth ? { security: [{ bearer: [] }] } : { security: [] }),
        parameters: params,
        ...(op.body
          ? { requestBody: { required: true, content: { "application/json": { schema: schema(op.body, "input") } } } }
          : {}),
        responses: {
          [String(op.status ?? 200)]: {
            description: "success",
            ...(op.response ? { content: { "application/json": { schema: schema(op.response, "output") } } } : {}),
          },
          "400": { description: "invalid input", content: problem },
          ...(route.auth ? { "401": { description: "no or bad token" }, "403": { description: "role may not" } } : {}),
          ...(route.path.includes("{") ? { "404": { description: "not found (or not yours)", content: problem } } : {}),
          ...(op.ifMatch ? { "409": { description: "stale version", content: problem } } : {}),
        },
      };
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Customer master API",
      version: "0.1.0",
      description: "Customers, contacts and the CRM work around them. Errors are RFC 9457 problem+json.",
    },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
    paths,
  };
}
