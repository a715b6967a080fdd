// Keys of the import and export bookkeeping: the per-tenant list of import/export jobs and the guard that makes one
// S3 object event start one job.

export const importKeys = {
  /** GSI1 of a job of `type` (import, export): one partition per tenant and type, newest first by job id. */
  listPk: (tenant: string, type: string) => `T#${tenant}#JOBS#${type}`,
  listSk: (jobId: string) => jobId,
  /** One per S3 object version (key + sequencer) that started a job. */
  objectGuardPk: (tenant: string, digest: string) => `T#${tenant}#IMPORTOBJ#${digest}`,
  guardSk: () => "GUARD",
};
