// Keys of background jobs and of the per-item outcome markers that make each item count exactly once.

export const jobKeys = {
  /** The job's item collection: the job itself and one marker per item it handled. */
  pk: (tenant: string, id: string) => `T#${tenant}#JOB#${id}`,
  jobSk: () => "JOB",
  /** One per (kind, id) handled by the job, e.g. `ITEM#customer#<id>`; written in the item's own transaction. */
  markerSk: (kind: string, itemId: string) => `ITEM#${kind}#${itemId}`,
};
