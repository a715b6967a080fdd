// Environment of every function, parsed once at module load with zod: a missing variable stops the cold start.
import * as z from "zod";

const EnvSchema = z
  .object({
    TABLE_NAME: z.string().min(1),
    STAGE: z.string().default("local"),
    LOG_LEVEL: z.enum(["DEBUG", "INFO", "WARN", "ERROR", "SILENT"]).default("INFO"),
    UPLOADS_BUCKET: z.string().default(""),
    BACKUPS_BUCKET: z.string().default(""),
    /** Queue URLs by logical name (JSON object), e.g. {"imports":"https://sqs..."}; empty where a function sends nothing. */
    QUEUE_URLS: z
      .string()
      .default("{}")
      .transform((s, ctx) => {
        try {
          return z.record(z.string(), z.string()).parse(JSON.parse(s));
        } catch {
          ctx.addIssue({ code: "custom", message: "QUEUE_URLS must be a JSON object of strings" });
          return z.NEVER;
        }
      }),
    /** How many shards the tenant-wide list indexes spread over (fixed per deployment: changing it needs a re-index). */
    LIST_SHARDS: z.coerce.number().int().min(1).max(64).default(8),
    /**
     * How long (ms) a function instance reuses a viewer's user and department records for paths whose data read is a
     * Query (list, search, 360). Writes through this instance clear it at once; 0 reads them on every request.
     */
    VIEWER_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
    /**
     * Customers a bulk classification job reads per page (one BatchGetItem per hundred) and saves its cursor after.
     * A page's moved customers are written in group transactions on two lanes; 500 keeps both busy (at 100 a page,
     * about two groups, one lane often waits for the next page's reads).
     */
    CLASSIFY_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(500),
    /** Secret that signs pagination cursors so a client cannot forge a key into another tenant. */
    CURSOR_SECRET: z.string().min(16).default("local-cursor-secret-change-me"),
    /** Backup retention: the newest backup of each of the last N days, weeks and months is kept. */
    BACKUP_KEEP_DAILY: z.coerce.number().int().min(1).max(366).default(7),
    BACKUP_KEEP_WEEKLY: z.coerce.number().int().min(0).max(520).default(4),
    BACKUP_KEEP_MONTHLY: z.coerce.number().int().min(0).max(1200).default(12),
    /** How long an import's presigned upload URL stays valid (seconds). */
    IMPORT_UPLOAD_TTL_SECONDS: z.coerce.number().int().min(1).max(604_800).default(3600),
    /** After the upload URL expired, how long an import still waits for the upload's S3 event before it fails. */
    IMPORT_UPLOAD_GRACE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
    /**
     * How reminder e-mails leave: `ses` sends them through Amazon SES (the cloud stacks set it), `log` writes them to
     * the log (the local runtime, and wherever SES is not configured).
     */
    EMAIL_DELIVERY: z.enum(["ses", "log"]).default("log"),
    /** The verified SES identity reminder e-mails are sent from; required when EMAIL_DELIVERY is `ses`. */
    EMAIL_SENDER: z.preprocess(
      (v) => (v === "" ? undefined : v),
      z.email("EMAIL_SENDER must be an e-mail address").optional(),
    ),
  })
  .refine((e) => e.EMAIL_DELIVERY !== "ses" || !!e.EMAIL_SENDER, {
    path: ["EMAIL_SENDER"],
    message: "EMAIL_SENDER is required when EMAIL_DELIVERY is ses",
  });

export type Env = z.infer<typeof EnvSchema>;

function parseEnv(): Env {
  const parsed = EnvSchema.safeParse(process.env);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid environment: ${detail}`);
  }
  return parsed.data;
}

/** The parsed environment, read once when this module is first imported. */
export const env: Env = parseEnv();
