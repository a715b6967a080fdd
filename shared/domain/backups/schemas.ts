// Backups: the manifest written next to the chunks, the backup record the API lists, and the request bodies.
import * as z from "zod";

/** Version of the table's item layout; a backup records it so a restore can refuse a layout it does not know. */
export const TABLE_SCHEMA_VERSION = 1;

export const ChunkSchema = z.object({
  name: z.string(),
  items: z.number().int(),
  bytes: z.number().int(),
  sha256: z.string(),
  contentSha256: z.string(),
  countsByEntity: z.record(z.string(), z.number().int()),
});
export type Chunk = z.infer<typeof ChunkSchema>;

export const ManifestSchema = z.object({
  format: z.literal("customer-master-backup/1"),
  tenant: z.string(),
  backupId: z.string(),
  tableSchemaVersion: z.number().int(),
  startedAt: z.string(),
  endedAt: z.string(),
  items: z.number().int(),
  countsByEntity: z.record(z.string(), z.number().int()),
  chunks: z.array(ChunkSchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export const BACKUP_STATUSES = ["running", "succeeded", "failed"] as const;

export interface DrillReport {
  jobId: string;
  status: "passed" | "failed";
  at: string;
  /** Chunks that did not restore as recorded, with why. */
  failedChunks: { name: string; reason: string }[];
  /** Items restored into the scratch namespace and read back equal to the backup. */
  verifiedItems: number;
  /** The restored copy against the live items it was taken from (differences are changes made since). */
  parity: { identical: number; changedSince: number; goneSince: number };
}

/** A backup as the API shows it. */
export interface Backup {
  id: string;
  status: (typeof BACKUP_STATUSES)[number];
  trigger: "nightly" | "on-demand";
  jobId: string;
  createdBy: string;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  items: number;
  countsByEntity: Record<string, number>;
  chunks: Chunk[];
  /** The manifest's object key in the backups bucket (tenant-scoped). */
  manifestKey?: string;
  tableSchemaVersion: number;
  drill?: DrillReport;
  version: number;
}

export const BackupCreateSchema = z.strictObject({}).optional();

export const RestoreRequestSchema = z.strictObject({
  mode: z.enum(["drill", "replace"]),
});
export type RestoreRequest = z.infer<typeof RestoreRequestSchema>;

export const BackupListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** `?at=` of a customer's point-in-time restore: an ISO instant. */
export const PointInTimeQuerySchema = z.strictObject({ at: z.iso.datetime({ offset: true }) });

/** Params of the jobs. */
export const BackupJobParamsSchema = z.object({ backupId: z.string(), trigger: z.enum(["nightly", "on-demand"]) });
export const RestoreJobParamsSchema = z.object({ backupId: z.string(), mode: z.enum(["drill", "replace"]) });

/** A backup as the API shows it (OpenAPI). */
export const BackupSchema = z.object({
  id: z.string(),
  status: z.enum(BACKUP_STATUSES),
  trigger: z.enum(["nightly", "on-demand"]),
  jobId: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  items: z.number().int(),
  countsByEntity: z.record(z.string(), z.number().int()),
  chunks: z.array(ChunkSchema),
  manifestKey: z.string().optional(),
  tableSchemaVersion: z.number().int(),
  drill: z
    .object({
      jobId: z.string(),
      status: z.enum(["passed", "failed"]),
      at: z.string(),
      failedChunks: z.array(z.object({ name: z.string(), reason: z.string() })),
      verifiedItems: z.number().int(),
      parity: z.object({ identical: z.number(), changedSince: z.number(), goneSince: z.number() }),
    })
    .optional(),
  version: z.number().int(),
  /** GET /v1/backups/{id} only: presigned download links (15 minutes) of the manifest and each chunk. */
  links: z.object({ manifest: z.string(), chunks: z.record(z.string(), z.string()) }).optional(),
});
