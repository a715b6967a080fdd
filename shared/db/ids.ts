// Time-sortable unique ids (ULID layout: 48-bit time + 80-bit randomness, Crockford base32).
import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A new 26-character ULID; ids made later sort after ids made earlier (to the millisecond). */
export function newId(now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let rand = "";
  for (let i = 0; i < 16; i++) rand += ALPHABET[bytes[i]! % 32]!;
  return time + rand;
}

/** True for strings shaped like an id this system issues (so other strings are simply "not found"). */
export function isId(s: string | undefined): s is string {
  return !!s && /^[0-9A-HJKMNP-TV-Z]{26}$/.test(s);
}

/** A stable small hash of a string, used to pick a shard. */
export function shardOf(s: string, shards: number): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) % shards;
}
