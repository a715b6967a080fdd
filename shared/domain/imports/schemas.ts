// Import and export schemas: what a client sends to start one, what a job stores in its params and state, and what
// the API returns.
import * as z from "zod";
import { CustomerListQuerySchema } from "../customers/schemas.ts";
import { OrderListQuerySchema } from "../orders/schemas.ts";
import { COLUMNS_BY_ENTITY, IMPORT_ENTITIES } from "./columns.ts";

export const IMPORT_MODES = ["insert", "upsert"] as const;
export const MATCH_KEYS = ["code", "uscc", "name+phone"] as const;
export type MatchKey = (typeof MATCH_KEYS)[number];

/** Field names a mapping may target (the entity's own fields; checked again against the entity's columns). */
const FieldName = z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/, "not a field name");

export const ImportStartSchema = z
  .strictObject({
    entity: z.enum(IMPORT_ENTITIES),
    mode: z.enum(IMPORT_MODES).default("upsert"),
    matchOn: z.enum(MATCH_KEYS).default("code"),
    /** Source header -> field, for headers the built-in Chinese/English names do not cover. */
    mapping: z
      .record(z.string().min(1).max(200), FieldName)
      .refine((m) => Object.keys(m).length <= 200, "at most 200 mapped columns")
      .optional(),
    dryRun: z.boolean().default(false),
    /** Shown in lists and used to name the error report. */
    fileName: z.string().trim().min(1).max(200).optional(),
    /** XLSX: the sheet to import (default: the first). */
    sheet: z.string().trim().min(1).max(100).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.entity === "orders" && v.matchOn !== "code") {
      ctx.addIssue({ code: "custom", path: ["matchOn"], message: "orders are matched on their order number (code)" });
    }
    const known = new Set(COLUMNS_BY_ENTITY[v.entity].map((c) => c.field));
    for (const [header, field] of Object.entries(v.mapping ?? {})) {
      if (!known.has(field)) {
        ctx.addIssue({ code: "custom", path: ["mapping", header], message: `${v.entity} have no field ${field}` });
      }
    }
  });
export type ImportStart = z.output<typeof ImportStartSchema>;

/** What an import job keeps in `params`. */
export const ImportParamsSchema = z.object({
  entity: z.enum(IMPORT_ENTITIES),
  mode: z.enum(IMPORT_MODES),
  matchOn: z.enum(MATCH_KEYS),
  mapping: z.record(z.string(), z.string()).optional(),
  dryRun: z.boolean(),
  fileName: z.string().optional(),
  sheet: z.string().optional(),
  /** The uploaded object (set when the upload's S3 event arrives, or at once for an S3 drop). */
  key: z.string(),
  etag: z.string().optional(),
  source: z.enum(["upload", "s3-drop"]),
  /** An upload through POST /v1/imports: when its presigned URL expires. */
  uploadExpiresAt: z.string().optional(),
});
export type ImportParams = z.infer<typeof ImportParamsSchema>;

/** An import's resume point, stored on the job with each chunk's outcomes (one leased write). */
export interface ImportState {
  format: "csv" | "xlsx";
  encoding: "utf-8" | "gb18030";
  /**
   * The encoding is not decided yet: the sniffed head of the file was plain ASCII (valid in both), so the first data
   * row with other bytes decides it (UTF-8 if it is valid UTF-8, else GB18030); `encoding` is provisional until then.
   */
  encodingOpen?: boolean;
  /** The cell separator of a CSV (absent: a comma). */
  delimiter?: "," | ";" | "\t";
  size: number;
  /** Byte offset where the next chunk starts, and its record number. */
  offset: number;
  line: number;
  /** Field per header column (null: ignored). */
  fields: (string | null)[];
  header: string[];
  /** The row the header was found on (1 unless title rows stand above it). */
  headerLine?: number;
  ignoredColumns: string[];
  /** Chunk numbers that wrote an error-report part. */
  errorParts: number[];
  chunk: number;
  /** XLSX: the sheet read (its entry in the archive) and its data rows as its `<dimension>` declares them. */
  sheetPath?: string;
  sheetName?: string;
  rowsHint?: number;
  /** Set once the error report is written (the job then only has to finish). */
  reportKey?: string;
  done?: boolean;
}

export const ListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200, "limit is at most 200").default(50),
  cursor: z.string().max(4096).optional(),
});

export const EXPORT_FORMATS = ["csv", "xlsx"] as const;

/** The filters an export takes: those of the customer list (without paging, search or the recycle bin). */
export const ExportFilterSchema = CustomerListQuerySchema.pick({
  industry: true,
  region: true,
  level: true,
  type: true,
  stage: true,
  owner: true,
  category: true,
});

/** The query of an import template: CSV (UTF-8 with BOM) or an XLSX workbook. */
export const TemplateQuerySchema = z.strictObject({ format: z.enum(EXPORT_FORMATS).default("csv") });

export const ExportStartSchema = z
  .strictObject({
    /** Customers, or the contacts or orders (one row per line) of the customers the filter selects. */
    entity: z.enum(["customers", "contacts", "orders"]),
    filter: ExportFilterSchema.default({}),
    /** An orders export's own filter: status and creation time (from inclusive, to exclusive), as GET /v1/orders. */
    orderFilter: OrderListQuerySchema.pick({ status: true, from: true, to: true }).optional(),
    format: z.enum(EXPORT_FORMATS).default("csv"),
  })
  .refine((x) => x.orderFilter === undefined || x.entity === "orders", {
    path: ["orderFilter"],
    message: "orderFilter applies to an orders export",
  });
export type ExportStart = z.output<typeof ExportStartSchema>;

/**
 * The imports queue's own message (beside S3 notifications): look at an import waiting for its upload once its link
 * has expired; sent delayed when the import starts, and again (delayed) while the time has not come.
 */
export const UploadDeadlineMessageSchema = z.strictObject({
  kind: z.literal("upload-deadline"),
  tenant: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/, "not a tenant id"),
  jobId: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, "not a job id"),
});
export type UploadDeadlineMessage = z.infer<typeof UploadDeadlineMessageSchema>;
