// Base-93 digits of the generated data modules (pinyin-data.ts, region-data.ts): printable ASCII without `"` and `\`,
// so the data stays one plain string literal. Han characters are encoded too, because esbuild writes non-ASCII
// characters as 6-byte \u escapes.

/** The 93 digits in value order. */
export const DIGITS = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i))
  .filter((c) => c !== '"' && c !== "\\")
  .join("");
export const BASE = DIGITS.length;
/** Han characters are written as three digits of their offset from this code point. */
const CHAR_BASE = 0x3000;

/** Value of the digit at `pos` of `s`. */
export function digitAt(s: string, pos: number): number {
  const c = s.charCodeAt(pos);
  return c - 0x20 - (c > 0x22 ? 1 : 0) - (c > 0x5c ? 1 : 0);
}

/** Reads a number written with `width` digits at `pos`. */
export function readFixed(s: string, pos: number, width: number): number {
  let v = 0;
  for (let i = 0; i < width; i++) v = v * BASE + digitAt(s, pos + i);
  return v;
}

/** Writes `v` with `width` digits (generators only). */
export function writeFixed(v: number, width: number): string {
  if (!Number.isInteger(v) || v < 0 || v >= BASE ** width) throw new Error(`${v} does not fit in ${width} digits`);
  let out = "";
  for (let i = 0; i < width; i++, v = Math.floor(v / BASE)) out = DIGITS[v % BASE]! + out;
  return out;
}

/** Reads a Han character written as three digits at `pos`. */
export function readChar(s: string, pos: number): string {
  return String.fromCodePoint(CHAR_BASE + readFixed(s, pos, 3));
}

/** Writes a Han character (U+3000 to U+9FFF) as three digits (generators only). */
export function writeChar(c: string): string {
  return writeFixed(c.codePointAt(0)! - CHAR_BASE, 3);
}

/**
 * Reads an index written with one digit when below `oneDigit`, else with two (the first at or above `oneDigit`);
 * returns it and the position after it. Frequent values get the small indices.
 */
export function readIndex(s: string, pos: number, oneDigit: number): [index: number, next: number] {
  const d = digitAt(s, pos);
  if (d < oneDigit) return [d, pos + 1];
  return [oneDigit + (d - oneDigit) * BASE + digitAt(s, pos + 1), pos + 2];
}

/** Writes an index for {@link readIndex} (generators only). */
export function writeIndex(i: number, oneDigit: number): string {
  if (i < oneDigit) return DIGITS[i]!;
  const t = i - oneDigit;
  if (oneDigit + Math.floor(t / BASE) >= BASE) throw new Error(`index ${i} too large`);
  return DIGITS[oneDigit + Math.floor(t / BASE)]! + DIGITS[t % BASE]!;
}
