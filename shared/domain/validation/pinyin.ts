// Search tokens for prefix search over Chinese names: normalised name, code, pinyin initials and full pinyin.
import { pinyin } from "pinyin-pro";

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

/**
 * Tokens to index for prefix search of a name (and optionally a code such as a USCC or customer number).
 * Each is normalised as by {@link normalizeQuery}:
 * the name itself; the code; the pinyin initials of the name, with Latin letters and digits kept whole
 * (`上海浦东贸易` → `shpdmy`, `ABC贸易` → `abcmy`, polyphones resolved by context: `重庆` → `cq`);
 * and the full toneless pinyin without separators (`shanghaipudongmaoyi`, ü written as v).
 * Empty tokens are dropped, duplicates removed, each token cut to {@link MAX_TOKEN_LENGTH} characters.
 * A query matches when `normalizeQuery(q)` is a prefix of any token.
 */
export function searchTokens(name: string, code?: string): string[] {
  const normName = normalizeQuery(name);
  const tokens: string[] = [normName];
  if (code !== undefined) tokens.push(normalizeQuery(code));
  if (/\p{Script=Han}/u.test(normName)) {
    const options = { toneType: "none", type: "array", nonZh: "consecutive", v: true } as const;
    tokens.push(alnum(pinyin(normName, { ...options, pattern: "first" }).join("")));
    tokens.push(alnum(pinyin(normName, options).join("")));
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
