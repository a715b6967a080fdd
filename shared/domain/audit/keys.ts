// Keys of audit entries and of the heads of the tenant's audit hash chains, built in this one place.

/**
 * Hash chains per tenant. An entry joins chain `shardOf(entityId, AUDIT_CHAINS)`, so appends spread over this many head
 * items (and GSI1 partitions) instead of queueing on one. Changing it re-homes entities: only raise it together with a
 * migration that closes the old chains.
 */
export const AUDIT_CHAINS = 8;

/** Width of the zero-padded sequence number in GSI1SK, so a chain sorts in append order as text. */
const SEQ_WIDTH = 12;

/**
 * Audit keys: by entity in the main table, by actor on GSI2, by chain position on GSI1, by parent record on GSI3, one
 * head item per chain.
 */
export const auditKeys = {
  pk: (tenant: string, entityId: string) => `T#${tenant}#AUDIT#${entityId}`,
  sk: (at: string, id: string) => `${at}#${id}`,
  byActorPk: (tenant: string, userId: string) => `T#${tenant}#AUDITBY#${userId}`,
  /**
   * GSI3: the entries of a record's children (contacts, orders, interactions, tasks of a customer) by time, so a
   * customer's point-in-time restore finds every child changed since a backup, including those created and deleted
   * since. Entries written before this index existed are not in it.
   */
  byParentPk: (tenant: string, parentId: string) => `T#${tenant}#AUDITPARENT#${parentId}`,
  /** GSI1: the entries of one chain, in sequence order. */
  chainPk: (tenant: string, chain: number) => `T#${tenant}#AUDITCHAIN#${chain}`,
  chainSk: (seq: number) => String(seq).padStart(SEQ_WIDTH, "0"),
  /** The chain's head: `seq` and `hash` of its last entry. */
  headPk: (tenant: string, chain: number) => `T#${tenant}#AUDITHEAD#${chain}`,
  headSk: () => "HEAD",
};
