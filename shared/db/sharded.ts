// Pagination over several partitions of one index at once (scatter-gather), merged into one ordered page.
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { env } from "../config/env.ts";
import { ddb } from "./client.ts";
import type { GsiName } from "./table.ts";

/** Per partition: not started (null), finished ("done"), or the key to continue after. */
export type ShardCursor = Array<null | "done" | Record<string, unknown>>;

export interface Filter {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

export interface MergedQuery {
  index: GsiName;
  partitions: string[];
  limit: number;
  descending: boolean;
  filter?: Filter | undefined;
  state?: ShardCursor | undefined;
  /** Only sort keys starting with this prefix. */
  skPrefix?: string | undefined;
}

/**
 * Queries every partition (Limit = page size each, in parallel), merges by sort key, keeps the first `limit` items that
 * are certainly next in order and remembers, per partition, where the next page continues. A page may hold fewer items
 * than `limit` (even none) when a filter dropped some; `state` is undefined once every partition is exhausted.
 */
export async function mergedQuery(q: MergedQuery): Promise<{ items: Record<string, unknown>[]; state?: ShardCursor }> {
  const pkName = `${q.index}PK`;
  const skName = `${q.index}SK`;
  const start: ShardCursor = q.state ?? q.partitions.map(() => null);
  if (start.length !== q.partitions.length) throw new Error("cursor does not match the partitions");
  const pages = await Promise.all(
    q.partitions.map(async (pk, i) => {
      const from = start[i];
      if (from === "done") return { items: [] as Record<string, unknown>[], last: undefined };
      const res = await ddb.send(
        new QueryCommand({
          TableName: env.TABLE_NAME,
          IndexName: q.index,
          KeyConditionExpression: q.skPrefix ? "#gpk = :gpk AND begins_with(#gsk, :gsk)" : "#gpk = :gpk",
          FilterExpression: q.filter?.expression,
          ExpressionAttributeNames: { "#gpk": pkName, ...(q.skPrefix ? { "#gsk": skName } : {}), ...q.filter?.names },
          ExpressionAttributeValues: { ":gpk": pk, ...(q.skPrefix ? { ":gsk": q.skPrefix } : {}), ...q.filter?.values },
          ScanIndexForward: !q.descending,
          Limit: q.limit,
          ExclusiveStartKey: from ?? undefined,
        }),
      );
      return { items: res.Items ?? [], last: res.LastEvaluatedKey };
    }),
  );
  const tagged = pages.flatMap((p, shard) => p.items.map((item) => ({ item, shard })));
  const sign = q.descending ? -1 : 1;
  tagged.sort((a, b) => {
    const x = String(a.item[skName]);
    const y = String(b.item[skName]);
    return x < y ? -sign : x > y ? sign : a.shard - b.shard;
  });
  // A partition that stopped early (Limit counted filtered-out rows, or 1 MB) may still hold rows that sort before
  // rows of other partitions: serve only rows that come before every such partition's stopping point.
  const frontiers = pages.filter((p, shard) => start[shard] !== "done" && p.last).map((p) => String(p.last![skName]));
  const eligible = frontiers.length
    ? tagged.filter((t) => {
        const sk = String(t.item[skName]);
        return q.descending ? frontiers.every((f) => sk >= f) : frontiers.every((f) => sk <= f);
      })
    : tagged;
  const taken = eligible.slice(0, q.limit);
  const next: ShardCursor = start.map((s, shard) => {
    if (s === "done") return "done";
    const page = pages[shard]!;
    const mine = taken.filter((t) => t.shard === shard);
    if (mine.length === page.items.length) return page.last ?? "done";
    const lastTaken = mine.at(-1)?.item;
    if (!lastTaken) return s;
    return { PK: lastTaken.PK, SK: lastTaken.SK, [pkName]: lastTaken[pkName], [skName]: lastTaken[skName] };
  });
  return { items: taken.map((t) => t.item), state: next.every((s) => s === "done") ? undefined : next };
}
