// Meters the DynamoDB requests of this process: the items write requests put, update or delete (a transaction's
// condition checks excluded), the work a job really asks of the table, to compare per item with a raw BatchWriteItem
// ceiling; and each request's consumed capacity and time.
import { BatchGetItemCommand, DynamoDBClient as DynamoDBClientClass } from "@aws-sdk/client-dynamodb";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/** Items one write request writes. */
export function itemsWritten(command: string, input: Record<string, unknown>): number {
  if (command === "TransactWriteItemsCommand") {
    return (input.TransactItems as Record<string, unknown>[]).filter((t) => !t.ConditionCheck).length;
  }
  if (command === "BatchWriteItemCommand") {
    return Object.values(input.RequestItems as Record<string, unknown[]>).reduce((n, l) => n + l.length, 0);
  }
  return ["PutItemCommand", "UpdateItemCommand", "DeleteItemCommand"].includes(command) ? 1 : 0;
}

/** Adds a counter of written items to the client; `count` only while `on`. */
export function countWrites(client: DynamoDBClient): { on: boolean; items: number } {
  const counter = { on: false, items: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (counter.on) counter.items += itemsWritten(context.commandName ?? "", args.input as Record<string, unknown>);
      return out;
    },
    { step: "initialize", name: "benchWrittenItems" },
  );
  return counter;
}

const READS = new Set([
  "GetItemCommand",
  "QueryCommand",
  "ScanCommand",
  "BatchGetItemCommand",
  "TransactGetItemsCommand",
]);

/** One request made while the meter was on: its command, input, the capacity DynamoDB reported, and its time. */
export interface MeteredRequest {
  command: string;
  input: Record<string, unknown>;
  /**
   * Capacity units consumed (ReturnConsumedCapacity TOTAL, summed over tables); for a TransactWriteItems the units
   * DynamoDB would bill ({@link transactWriteUnits}).
   */
  units: number;
  /** What DynamoDB Local reported. */
  reportedUnits: number;
  /** Not a request: the units of transaction items weighed by `settle()` after the requests that wrote them. */
  settled?: boolean;
  /** A read request (Get, Query, Scan, BatchGet, TransactGet), whose units are read units. */
  read: boolean;
  ms: number;
}

const AV_TYPES = new Set(["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"]);
const utf8 = (s: string) => Buffer.byteLength(s, "utf8");

/** A number's stored size: about one byte per two significant digits, plus one. */
const numberSize = (n: string) => Math.ceil(n.replace(/^-|\.|e.*$/gi, "").replace(/^0+/, "").length / 2) + 1;

/**
 * Bytes DynamoDB counts for a value, by its item-size rules: strings and binaries their length, numbers by their
 * digits, booleans and null 1, lists and maps 3 plus 1 a member plus the members (map keys counted as names). Takes
 * both the SDK's AttributeValue shape (`{ S: "x" }`) and plain values (what lib-dynamodb passes before marshalling).
 */
export function valueSize(v: unknown): number {
  if (v && Object.getPrototypeOf(v) === Object.prototype) {
    const keys = Object.keys(v);
    if (keys.length === 1 && AV_TYPES.has(keys[0]!)) {
      const [type, inner] = Object.entries(v)[0]!;
      if (type === "S") return utf8(inner as string);
      if (type === "N") return numberSize(inner as string);
      if (type === "B") return (inner as Uint8Array).length;
      if (type === "BOOL" || type === "NULL") return 1;
      if (type === "M") return valueSize(new Map(Object.entries(inner as Record<string, unknown>)));
      if (type === "L") return 3 + (inner as unknown[]).reduce<number>((n, x) => n + 1 + valueSize(x), 0);
      return (inner as unknown[]).reduce<number>((n, x) => n + valueSize(type === "NS" ? { N: x } : x), 0);
    }
    const entries = Object.entries(v as Record<string, unknown>);
    return 3 + entries.reduce((n, [k, x]) => n + 1 + utf8(k) + valueSize(x), 0);
  }
  if (typeof v === "string") return utf8(v);
  if (typeof v === "number" || typeof v === "bigint") return numberSize(String(v));
  if (typeof v === "boolean" || v === null || v === undefined) return 1;
  if (v instanceof Uint8Array) return v.length;
  if (Array.isArray(v)) return 3 + v.reduce<number>((n, x) => n + 1 + valueSize(x), 0);
  if (v instanceof Set) return [...v].reduce<number>((n, x) => n + valueSize(x), 0);
  if (v instanceof Map) return 3 + [...v].reduce<number>((n, [k, x]) => n + 1 + utf8(String(k)) + valueSize(x), 0);
  return 0;
}

/** Bytes DynamoDB counts for an item: each attribute's name and value. */
export function itemSize(item: Record<string, unknown>): number {
  return Object.entries(item).reduce((n, [k, v]) => n + utf8(k) + valueSize(v), 0);
}

/** A key attribute as a string, whether plain or in the AttributeValue shape. */
const keyPart = (v: unknown) => JSON.stringify(v && typeof v === "object" && "S" in v ? (v as { S: unknown }).S : v);
const keyOf = (table: unknown, key: Record<string, unknown>) =>
  `${String(table)}\u0000${keyPart(key.PK)}\u0000${keyPart(key.SK)}`;

/** What an item weighs for billing: its size, and the global secondary indexes it is in (both key attributes set). */
export interface ItemFacts {
  bytes: number;
  indexes: number;
}

/** The facts of an item: its size and how many GSIs (`GSI<n>PK` and `GSI<n>SK` both present) hold it. */
export function itemFacts(item: Record<string, unknown>): ItemFacts {
  let indexes = 0;
  for (const k of Object.keys(item)) {
    const m = /^(GSI\d+)PK$/.exec(k);
    if (m && item[`${m[1]}SK`] !== undefined) indexes++;
  }
  return { bytes: itemSize(item), indexes };
}

/**
 * The facts of the items this process last wrote or read, by key, the most recent `limit` of them: what a
 * transaction's Update, Delete or ConditionCheck item weighs when the request does not carry the item.
 */
export class ItemSizes {
  private readonly facts = new Map<string, ItemFacts>();
  constructor(private readonly limit = 20_000) {}
  remember(table: unknown, item: Record<string, unknown>): void {
    const k = keyOf(table, item);
    this.facts.delete(k);
    this.facts.set(k, itemFacts(item));
    if (this.facts.size > this.limit) this.facts.delete(this.facts.keys().next().value!);
  }
  get(table: unknown, key: Record<string, unknown>): ItemFacts | undefined {
    return this.facts.get(keyOf(table, key));
  }
}

/** A transaction item whose size the request does not carry: an Update, Delete or ConditionCheck. */
export interface PendingItem {
  table: unknown;
  key: Record<string, unknown>;
  /** The item as this process last saw it before the transaction, if it did. */
  before: ItemFacts | undefined;
  /** A Delete: the item is gone afterwards, so only `before` can weigh it. */
  deleted: boolean;
}

/**
 * A transaction item's write units: 2 per started KB in the table, and 1 per started KB in each index that holds it
 * (every index projects all attributes; index writes are propagated after the transaction, as standard writes).
 */
const units = (f: ItemFacts) => {
  const kb = Math.max(1, Math.ceil(f.bytes / 1024));
  return 2 * kb + f.indexes * kb;
};

/**
 * The write units DynamoDB bills for a TransactWriteItems, as far as the request tells: 2 per item per started KB,
 * every item of the transaction (a ConditionCheck counted like a write), plus its index writes. Its Puts are weighed
 * by their items; the other items are returned pending, for {@link pendingUnits} once their size is known. DynamoDB
 * Local reports less for every transaction of the benchmarks (bench/capacity-probe.ts).
 */
export function transactWriteUnits(
  input: Record<string, unknown>,
  sizes: ItemSizes,
): { units: number; pending: PendingItem[] } {
  let total = 0;
  const pending: PendingItem[] = [];
  for (const t of input.TransactItems as Record<string, Record<string, unknown>>[]) {
    const [op, body] = Object.entries(t)[0]!;
    if (op === "Put") total += units(itemFacts(body.Item as Record<string, unknown>));
    else {
      const key = body.Key as Record<string, unknown>;
      pending.push({ table: body.TableName, key, before: sizes.get(body.TableName, key), deleted: op === "Delete" });
    }
  }
  return { units: total, pending };
}

/**
 * The units of items {@link transactWriteUnits} left pending, given `after`, each item as read after the transaction
 * (undefined when absent): DynamoDB bills the larger of an item's size before and after; an item this process never
 * saw and cannot read (a deleted one) counts as 1 KB in no index. An index whose key changed is a delete and a put
 * there, counted once: a lower bound.
 */
export function pendingUnits(
  pending: readonly PendingItem[],
  after: (p: PendingItem) => ItemFacts | undefined,
): number {
  return pending.reduce((n, p) => {
    const a = p.deleted ? undefined : after(p);
    const b = p.before;
    if (!a && !b) return n + units({ bytes: 1024, indexes: 0 });
    return (
      n +
      units({
        bytes: Math.max(a?.bytes ?? 0, b?.bytes ?? 0),
        indexes: Math.max(a?.indexes ?? 0, b?.indexes ?? 0),
      })
    );
  }, 0);
}

/** Remembers the sizes of the items a request wrote (Put, BatchWriteItem puts) or read (Get, BatchGet, Query, Scan). */
function rememberSizes(sizes: ItemSizes, input: Record<string, unknown>, output: Record<string, unknown>): void {
  const table = input.TableName;
  if (input.TransactItems)
    for (const t of input.TransactItems as Record<string, Record<string, unknown>>[])
      if (t.Put) sizes.remember(t.Put.TableName, t.Put.Item as Record<string, unknown>);
  if (input.RequestItems && !output.Responses)
    for (const [name, requests] of Object.entries(input.RequestItems as Record<string, Record<string, unknown>[]>))
      for (const r of requests) {
        const put = r.PutRequest as { Item?: Record<string, unknown> } | undefined;
        if (put?.Item) sizes.remember(name, put.Item);
      }
  if (input.Item) sizes.remember(table, input.Item as Record<string, unknown>);
  if (output.Item) sizes.remember(table, output.Item as Record<string, unknown>);
  for (const item of (output.Items as Record<string, unknown>[] | undefined) ?? []) sizes.remember(table, item);
  for (const [name, items] of Object.entries((output.Responses as Record<string, unknown[]> | undefined) ?? {}))
    if (Array.isArray(items)) for (const item of items) sizes.remember(name, item as Record<string, unknown>);
}

/**
 * Adds a meter to the client: while `isOn()`, each request asks for its consumed capacity and is reported. A
 * TransactWriteItems is reported with the units DynamoDB would bill for its Puts; its other items are weighed by
 * `settle()`, which reads them (with a client of its own, outside any timing) and reports their units as one more
 * report with `settled: true` (not a request). `reportedUnits` keeps what DynamoDB Local said.
 */
export function meterRequests(
  client: DynamoDBClient,
  isOn: () => boolean,
  report: (request: MeteredRequest) => void,
): { settle: () => Promise<void> } {
  const sizes = new ItemSizes();
  let pending: PendingItem[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      const on = isOn();
      if (on) input.ReturnConsumedCapacity = "TOTAL";
      const started = performance.now();
      const out = await next(args);
      const command = context.commandName ?? "?";
      const output = out.output as unknown as Record<string, unknown>;
      if (on) {
        const ms = performance.now() - started;
        const cc = output.ConsumedCapacity;
        let reported = 0;
        for (const c of Array.isArray(cc) ? cc : cc ? [cc] : [])
          reported += (c as { CapacityUnits?: number }).CapacityUnits ?? 0;
        let units = reported;
        if (command === "TransactWriteItemsCommand") {
          const t = transactWriteUnits(input, sizes);
          units = t.units;
          pending.push(...t.pending);
        }
        report({ command, input, units, reportedUnits: reported, read: READS.has(command), ms });
      }
      rememberSizes(sizes, input, output);
      return out;
    },
    { step: "initialize", name: "benchMeter" },
  );
  let reader: DynamoDBClient | undefined;
  return {
    async settle() {
      const todo = pending;
      pending = [];
      if (!todo.length) return;
      reader ??= new DynamoDBClientClass({});
      const after = new Map<string, ItemFacts>();
      const keys = new Map<string, PendingItem>();
      for (const p of todo) if (!p.deleted) keys.set(keyOf(p.table, p.key), p);
      const list = [...keys.values()];
      for (let i = 0; i < list.length; i += 100) {
        const byTable = new Map<string, Record<string, unknown>[]>();
        for (const p of list.slice(i, i + 100)) {
          const t = byTable.get(String(p.table)) ?? [];
          t.push(marshallKey(p.key));
          byTable.set(String(p.table), t);
        }
        let request: Record<string, { Keys: Record<string, unknown>[] }> | undefined = Object.fromEntries(
          [...byTable].map(([t, k]) => [t, { Keys: k }]),
        );
        while (request && Object.keys(request).length) {
          const res = await reader.send(new BatchGetItemCommand({ RequestItems: request as never }));
          for (const [t, items] of Object.entries(res.Responses ?? {}))
            for (const item of items) {
              after.set(keyOf(t, item), itemFacts(item));
              sizes.remember(t, item);
            }
          request = res.UnprocessedKeys as typeof request;
        }
      }
      const extra = pendingUnits(todo, (p) => after.get(keyOf(p.table, p.key)));
      report({
        command: "TransactWriteItemsCommand",
        input: {},
        units: extra,
        reportedUnits: 0,
        read: false,
        ms: 0,
        settled: true,
      });
    },
  };
}

/** A key in the AttributeValue shape (strings stay strings). */
function marshallKey(key: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(key).map(([k, v]) => [
      k,
      v && typeof v === "object" ? v : typeof v === "number" ? { N: String(v) } : { S: v },
    ]),
  );
}
