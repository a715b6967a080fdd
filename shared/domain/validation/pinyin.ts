// Search tokens for prefix search over Chinese names: normalised name, code, pinyin initials and full pinyin.
import { digitAt, readChar, readIndex } from "./digits.ts";
import { ONE_DIGIT_SYLLABLES, toPinyin, type PinyinDictionary } from "./pinyin-convert.ts";
import { CHAR_RANGES, CONTEXT_WORDS, SYLLABLES } from "./pinyin-data.ts";

/** Longest token produced by {@link searchTokens} (longer forms are cut, by code point). */
export const MAX_TOKEN_LENGTH = 100;

/**
 * Normalises text the way tokens are stored: NFKC (fullwidth → ASCII, compatibility forms folded),
 * lower-case, all whitespace removed. Apply it to every search query before prefix matching.
 */
export function normalizeQuery(q: string): string {
  return q.normalize("NFKC").toLowerCase().replace(/\s+/gu, "");
}

function cut(token: string): string {
  const chars = Array.from(token);
  return chars.length > MAX_TOKEN_LENGTH ? chars.slice(0, MAX_TOKEN_LENGTH).join("") : token;
}

/** Keeps only ASCII letters and digits (pinyin tokens drop punctuation and non-Chinese scripts). */
function alnum(s: string): string {
  return s.replace(/[^a-z0-9]+/g, "");
}

let dictionary: PinyinDictionary | undefined;

/** Decodes the generated tables of pinyin-data.ts once, on first use. */
function getDictionary(): PinyinDictionary {
  if (dictionary) return dictionary;
  const syllables = SYLLABLES.split(" ").map((s) => (s === "-" ? undefined : s));
  const ranges = CHAR_RANGES.map(([start, codes]) => {
    const table: number[] = [];
    for (let pos = 0; pos < codes.length;) {
      const [index, next] = readIndex(codes, pos, ONE_DIGIT_SYLLABLES);
      table.push(index);
      pos = next;
    }
    return { start, table: Uint16Array.from(table) };
  });
  const words = new Map<string, readonly string[]>();
  let maxWordLength = 0;
  for (let pos = 0; pos < CONTEXT_WORDS.length;) {
    const length = digitAt(CONTEXT_WORDS, pos++);
    let word = "";
    for (let i = 0; i < length; i++, pos += 3) word += readChar(CONTEXT_WORDS, pos);
    const read: string[] = [];
    for (let i = 0; i < length; i++) {
      const [index, next] = readIndex(CONTEXT_WORDS, pos, ONE_DIGIT_SYLLABLES);
      read.push(syllables[index]!);
      pos = next;
    }
    words.set(word, read);
    maxWordLength = Math.max(maxWordLength, length);
  }
  dictionary = {
    syllableOf(cp) {
      for (const r of ranges) {
        if (cp >= r.start && cp < r.start + r.table.length) return syllables[r.table[cp - r.start]!];
      }
      return undefined;
    },
    words,
    maxWordLength,
  };
  return dictionary;
}

/**
 * Tokens to index for prefix search of a name (and optionally a code such as a USCC or customer number).
 * Each is normalised as by {@link normalizeQuery}:
 * the name itself; the code; the pinyin initials of the name, with Latin letters and digits kept whole
 * (`上海浦东贸易` → `shpdmy`, `ABC贸易` → `abcmy`, polyphones resolved by context: `重庆` → `cq`);
 * and the full toneless pinyin without separators (`shanghaipudongmaoyi`, ü written as v).
 * Pinyin comes from the generated tables of pinyin-data.ts (`npm run gen:pinyin`): each character's default reading,
 * except inside the longest context word starting at that character (place names and business words, from pinyin-pro).
 * Empty tokens are dropped, duplicates removed, each token cut to {@link MAX_TOKEN_LENGTH} characters.
 * A query matches when `normalizeQuery(q)` is a prefix of any token.
 */
export function searchTokens(name: string, code?: string): string[] {
  const normName = normalizeQuery(name);
  const tokens: string[] = [normName];
  if (code !== undefined) tokens.push(normalizeQuery(code));
  if (/\p{Script=Han}/u.test(normName)) {
    // Syllables give their first letter to the initials; other characters (Latin, digits) are kept whole.
    const { parts, syllables } = toPinyin(normName, getDictionary());
    tokens.push(alnum(parts.map((p, i) => (syllables[i] ? p[0] : p)).join("")));
    tokens.push(alnum(parts.join("")));
  } else {
    // No Chinese characters: the pinyin forms would only repeat the name without punctuation.
    tokens.push(alnum(normName));
  }
  const out = new Set<string>();
  for (const t of tokens) {
    const c = cut(t);
    if (c !== "") out.add(c);
  }
  return [...out];
}
