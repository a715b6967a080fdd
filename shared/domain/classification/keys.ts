// Every DynamoDB key of classification: schemes and their versions, a customer's membership and history items, the
// distribution cells and the tenant's value model.

/**
 * Membership and history items live in the customer's item collection after the search tokens' `~S#` (so the 360
 * Query, SK < "~", never reads them). A membership item is indexed on GSI1 by scheme and category, spread over shards,
 * with the customer's department path leading the sort key: a scoped category list is one Query per shard.
 */
export const classificationKeys = {
  /**
   * A tenant's classification config is one partition: current schemes (`CUR#<id>`), the value model (`MODEL`) and
   * every version of every scheme (`VER#<id>#<n>`). Currents and model sort together, so one Query reads the config.
   */
  configPk: (tenant: string) => `T#${tenant}#CLS`,
  schemeSk: (id: string) => `CUR#${id}`,
  versionSk: (id: string, version: number) => `VER#${id}#${String(version).padStart(6, "0")}`,
  configFirstSk: () => "CUR#",
  valueModelSk: () => "MODEL",
  /** The guard of a day's nightly job (sorts after MODEL, outside the config Query). */
  nightlySk: (day: string) => `NIGHTLY#${day}`,

  membershipSk: (schemeId: string) => `~CAT#${schemeId}`,
  memberPk: (tenant: string, schemeId: string, value: string, shard: number) =>
    `T#${tenant}#CATM#${schemeId}#${value}#${shard}`,
  memberSk: (deptPath: string, customerId: string) => `${deptPath}#${customerId}`,

  /**
   * One history item per reconcile that changed categories, all its schemes' changes in it (`changes`), keyed by the
   * time and the snapshot revision it wrote (unique per customer). Items written before were one per scheme
   * (`~CH#<schemeId>#<at>`, with `schemeId`, `from`, `to`); both sort under the prefix and are read alike.
   */
  historySk: (at: string, rev: number) => `~CH#@${at}#${rev}`,
  historyPrefix: () => "~CH#",

  /** Distribution cells: count and revenue per scheme, department, owner and category, sharded by customer. */
  cellPk: (tenant: string, schemeId: string, shard: number) => `T#${tenant}#DIST#${schemeId}#${shard}`,
  cellSk: (deptPath: string, ownerId: string, value: string) => `${deptPath}#${ownerId}#${value}`,
  cellScopePrefix: (deptPath: string, tree: boolean) => (tree ? deptPath : `${deptPath}#`),
};

/** The pseudo-scheme whose cells hold the value-score histogram (category = score 000..100). */
export const SCORE_SCHEME = "_valuescore";
