// Keys of backups: the backup record (one per backup, listed newest first), the nightly guard, a restore job's
// state, the scratch namespace of a drill, and the S3 object keys of a backup's chunks and manifest.

/** Tenants match /^[A-Za-z0-9].../ (shared/auth/claims.ts): a namespace starting with "~" can never be a tenant's. */
const SCRATCH_PREFIX = "~drill~";

export const backupKeys = {
  /** Every item of a tenant has a PK starting with this (the whole-tenant export scans for it). */
  tenantPrefix: (tenant: string) => `T#${tenant}#`,
  pk: (tenant: string, id: string) => `T#${tenant}#BACKUP#${id}`,
  sk: () => "BACKUP",
  /** GSI1: the tenant's backups; ids are ULIDs, so the index sorts them by time. */
  listPk: (tenant: string) => `T#${tenant}#BACKUPS`,
  listSk: (id: string) => id,
  /** One per tenant and UTC day: the nightly schedule starts at most one backup per tenant per night. */
  nightlyPk: (tenant: string, day: string) => `T#${tenant}#BACKUPNIGHT#${day}`,
  nightlySk: () => "GUARD",
  /** A restore job's own state (phase, scan position), next to nothing else. */
  restoreStatePk: (tenant: string, jobId: string) => `T#${tenant}#RESTOREJOB#${jobId}`,
  restoreStateSk: () => "STATE",
  /** One per tenant: names the replace under way, so two replaces never run over the tenant at once. */
  replaceLockPk: (tenant: string) => `T#${tenant}#RESTORELOCK`,
  replaceLockSk: () => "LOCK",
  /** The isolated namespace a drill restores into: a "tenant" no token can carry. */
  scratchTenant: (jobId: string) => `${SCRATCH_PREFIX}${jobId}`,
};

/** Object keys in the backups bucket; every key of a tenant's backups sits under its own prefix. */
export const backupObjects = {
  prefix: (tenant: string, id: string) => `tenants/${tenant}/backups/${id}/`,
  chunk: (tenant: string, id: string, name: string) => `tenants/${tenant}/backups/${id}/${name}`,
  chunkName: (round: number, segment: number) =>
    `chunk-${String(round).padStart(5, "0")}-${String(segment).padStart(2, "0")}.jsonl.gz`,
  manifest: (tenant: string, id: string) => `tenants/${tenant}/backups/${id}/manifest.json`,
};
