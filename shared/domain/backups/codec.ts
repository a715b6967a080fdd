// How a backup chunk is written and checked: items in DynamoDB's own JSON (lossless: numbers as strings, sets stay
// sets, binary as base64), one canonical line per item, lines sorted, gzip; SHA-256 of the compressed bytes (what is
// stored) and of the lines (what is restored, so a restored copy can be compared with the chunk without the file).
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";

export type RawItem = Record<string, AttributeValue>;

/** JSON with sorted object keys at every level, and binary values as `{"$b64": ...}`. */
export function canonicalJson(value: unknown): string {
  if (value instanceof Uint8Array) return JSON.stringify({ $b64: Buffer.from(value).toString("base64") });
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function revive(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === "$b64" && typeof o.$b64 === "string") return Buffer.from(o.$b64, "base64");
  }
  return value;
}

export const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

/** The canonical, sorted lines of some items. */
export function itemLines(items: readonly RawItem[]): string[] {
  return items.map(canonicalJson).sort();
}

/** The hash of a set of items, independent of their order. */
export const linesSha256 = (lines: readonly string[]) => sha256(lines.join("\n"));

export interface EncodedChunk {
  body: Buffer;
  /** SHA-256 of `body` (the stored, compressed bytes). */
  sha256: string;
  /** SHA-256 of the sorted canonical lines (what a restore must reproduce). */
  contentSha256: string;
  items: number;
  bytes: number;
}

export function encodeChunk(items: readonly RawItem[]): EncodedChunk {
  const lines = itemLines(items);
  const body = gzipSync(Buffer.from(lines.join("\n"), "utf8"));
  return { body, sha256: sha256(body), contentSha256: linesSha256(lines), items: lines.length, bytes: body.length };
}

/** Thrown when a chunk's bytes cannot be read back as items. */
export class ChunkUnreadableError extends Error {
  override readonly name = "ChunkUnreadableError";
}

export function decodeChunk(body: Uint8Array): RawItem[] {
  let text: string;
  try {
    text = gunzipSync(body).toString("utf8");
  } catch (err) {
    throw new ChunkUnreadableError(`not gzip: ${(err as Error).message}`);
  }
  if (text === "") return [];
  try {
    return text.split("\n").map((line) => JSON.parse(line, revive) as RawItem);
  } catch (err) {
    throw new ChunkUnreadableError(`not JSON Lines: ${(err as Error).message}`);
  }
}

/** The string value of a key attribute, or undefined. */
export const str = (item: RawItem, name: string): string | undefined => item[name]?.S;

/** The item's `entity` attribute, or "unknown" (e.g. rate counters, which carry none). */
export const entityOf = (item: RawItem): string => item.entity?.S ?? "unknown";

/** Key attributes that may carry the tenant prefix. */
export const KEY_ATTRIBUTES = [
  "PK",
  "SK",
  "GSI1PK",
  "GSI1SK",
  "GSI2PK",
  "GSI2SK",
  "GSI3PK",
  "GSI3SK",
  "GSI4PK",
  "GSI4SK",
] as const;

/** The item with every key attribute that starts with `from` starting with `to` instead (other attributes as they are). */
export function rekey(item: RawItem, from: string, to: string): RawItem {
  const out: RawItem = { ...item };
  for (const name of KEY_ATTRIBUTES) {
    const v = item[name]?.S;
    if (v !== undefined && v.startsWith(from)) out[name] = { S: to + v.slice(from.length) };
  }
  return out;
}

/** "PK\u0000SK": a key's identity within the table. */
export const keyId = (item: RawItem): string => `${str(item, "PK") ?? ""}\u0000${str(item, "SK") ?? ""}`;
