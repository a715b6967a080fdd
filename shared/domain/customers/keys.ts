// Every DynamoDB key of the customer aggregate (profile, contacts, search tokens, uniqueness guards) is built here.
import { shardOf } from "../../db/ids.ts";

/**
 * Item collection per customer: PK = T#<tenant>#CUST#<id>. Sort keys sort as CONTACT# < PROFILE < ~S# so that the
 * 360 view reads everything but search tokens with one Query (SK < "~").
 */
export const customerKeys = {
  pk: (tenant: string, id: string) => `T#${tenant}#CUST#${id}`,
  profileSk: () => "PROFILE",
  contactSk: (contactId: string) => `CONTACT#${contactId}`,
  contactPrefix: () => "CONTACT#",
  /** Everything below this sort key belongs to the customer's record (search token items sort after it). */
  collectionEnd: () => "~",
  searchSk: (token: string) => `~S#${token}`,

  /** GSI1: the tenant's customers, spread over shards so no single partition takes every write. */
  listPk: (tenant: string, shard: number) => `T#${tenant}#CUSTS#${shard}`,
  binPk: (tenant: string, shard: number) => `T#${tenant}#CUSTBIN#${shard}`,
  listSk: (id: string) => id,
  shard: (id: string, shards: number) => shardOf(id, shards),

  /** GSI2: customers by owner (one partition per owner). */
  ownerPk: (tenant: string, ownerId: string) => `T#${tenant}#OWNER#${ownerId}`,
  ownerSk: (id: string) => `CUST#${id}`,

  /**
   * GSI4: the tenant's customers by department path (`/hq/east/#<id>`), sharded like GSI1. A `dept` scope is
   * `begins_with("/hq/east/#")`, a `dept_tree` scope `begins_with("/hq/east/")`: one Query per shard however many
   * departments the subtree holds.
   */
  scopePk: (tenant: string, shard: number) => `T#${tenant}#CUSTDEPT#${shard}`,
  scopeSk: (deptPath: string, id: string) => `${deptPath}#${id}`,
  scopePrefix: (deptPath: string, tree: boolean) => (tree ? deptPath : `${deptPath}#`),

  /** GSI3: prefix search; partitioned by the token's first character so a search reads one partition. */
  searchPk: (tenant: string, token: string) => `T#${tenant}#SRCH#${Array.from(token)[0] ?? ""}`,
  searchGsiSk: (token: string, id: string) => `${token}#${id}`,

  /**
   * GSI3 on the profile (search tokens use GSI3 too, under other partitions): the tenant's customers by their last
   * activity (created, order approved, interaction, follow-up completed), sharded like GSI1. Reminder ticks read a
   * range of it (`inactive since before the cutoff`) instead of scanning customers.
   */
  activityPk: (tenant: string, shard: number) => `T#${tenant}#CUSTACT#${shard}`,
  activitySk: (at: string, id: string) => `${at}#${id}`,

  /**
   * GSI3 on a contact with a birthday: the tenant's contacts by month and day of birth (`MM-DD#<contactId>`), sharded
   * by contact. Birthday reminders read the days that fall due in a range of it; the row lives on the contact item,
   * so it changes with the birthday and goes with the contact.
   */
  birthdayPk: (tenant: string, shard: number) => `T#${tenant}#CONTBDAY#${shard}`,
  birthdaySk: (monthDay: string, contactId: string) => `${monthDay}#${contactId}`,

  /** Uniqueness guards, one item per taken value. */
  codeGuardPk: (tenant: string, code: string) => `T#${tenant}#CUSTCODE#${code.toUpperCase()}`,
  usccGuardPk: (tenant: string, uscc: string) => `T#${tenant}#USCC#${uscc}`,
  guardSk: () => "GUARD",
};
