// Unit tests for pinyin search tokens and query normalisation.
import { describe, expect, it } from "vitest";
import { MAX_TOKEN_LENGTH, normalizeQuery, searchTokens } from "../../../shared/domain/validation/pinyin.ts";

/** True when the normalised query is a prefix of one of the tokens (how the search index is used). */
function matches(tokens: string[], q: string): boolean {
  const n = normalizeQuery(q);
  return n !== "" && tokens.some((t) => t.startsWith(n));
}

describe("searchTokens", () => {
  const tokens = searchTokens("上海浦东贸易", "91310000MA1FL1MMXL");

  it("indexes name, code, initials and full pinyin", () => {
    expect(tokens).toEqual(["上海浦东贸易", "91310000ma1fl1mmxl", "shpdmy", "shanghaipudongmaoyi"]);
  });

  it.each(["shpd", "SHPD", "上海浦", "shanghai", "shang hai pu", "9131", "91310000MA1F", "shpdmy"])(
    "finds it by %j",
    (q) => expect(matches(tokens, q)).toBe(true),
  );

  it.each(["pudong", "hpd", "浦东", "9132", "xyz"])("does not find it by %j (prefix only)", (q) => {
    expect(matches(tokens, q)).toBe(false);
  });

  it("resolves polyphones from context", () => {
    expect(searchTokens("重庆")).toEqual(["重庆", "cq", "chongqing"]);
    expect(searchTokens("中国银行")).toContain("zgyh");
    expect(searchTokens("厦门航空")).toContain("xiamenhangkong");
  });

  it("keeps Latin letters and digits of mixed names", () => {
    expect(searchTokens("ABC贸易")).toEqual(["abc贸易", "abcmy", "abcmaoyi"]);
    expect(searchTokens("3M 中国")).toEqual(["3m中国", "3mzg", "3mzhongguo"]);
  });

  it("drops punctuation from pinyin forms but keeps it in the name", () => {
    const t = searchTokens("阿里巴巴（中国）有限公司");
    expect(t).toEqual(["阿里巴巴(中国)有限公司", "albbzgyxgs", "alibabazhongguoyouxiangongsi"]);
    expect(matches(t, "阿里巴巴（中国")).toBe(true);
  });

  it("writes ü as v", () => {
    expect(searchTokens("绿色")).toContain("lvse");
  });

  it("normalises fullwidth and whitespace, deduplicates and drops empties", () => {
    expect(searchTokens("ＡＢＣ Trading")).toEqual(["abctrading"]);
    expect(searchTokens("ABC", "abc")).toEqual(["abc"]);
    expect(searchTokens("  ", "")).toEqual([]);
    expect(searchTokens("A.B.C")).toEqual(["a.b.c", "abc"]);
  });

  it("caps every token at 100 characters", () => {
    const t = searchTokens("上海".repeat(80), "x".repeat(150));
    expect(t.length).toBe(4);
    for (const token of t) expect(Array.from(token).length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect(t[0]).toBe("上海".repeat(50));
  });
});

describe("normalizeQuery", () => {
  it("applies NFKC, lower-case and removes whitespace", () => {
    expect(normalizeQuery("ＡＢＣ")).toBe("abc");
    expect(normalizeQuery(" Shang　Hai\t")).toBe("shanghai");
    expect(normalizeQuery("上海 浦东")).toBe("上海浦东");
    expect(normalizeQuery("（中国）")).toBe("(中国)");
  });

  it("lets a fullwidth query find a halfwidth name", () => {
    expect(matches(searchTokens("ABC贸易"), "ＡＢＣ贸")).toBe(true);
  });
});
