// Toneless pinyin of a text from a per-character table and a list of context words (greedy longest match).

/** What {@link toPinyin} needs: each Han character's default syllable and the words read differently in context. */
export interface PinyinDictionary {
  /** Default toneless syllable of a code point (ü as v), or `undefined` when it has none. */
  syllableOf(codePoint: number): string | undefined;
  /** Context words (two or more characters) and their syllables, one per character. */
  words: ReadonlyMap<string, readonly string[]>;
  /** Length in characters of the longest context word. */
  maxWordLength: number;
}

/** The iteration mark 々 repeats the syllable before it (人々 → ren ren). */
const ITERATION_MARK = 0x3005;

/**
 * Splits `text` into pinyin syllables and the characters without pinyin, in order: at each position the longest
 * context word starting there wins, otherwise the character's default syllable; other characters are returned
 * one by one, unchanged. `syllables[i]` is true when `parts[i]` is a syllable.
 */
export function toPinyin(text: string, dict: PinyinDictionary): { parts: string[]; syllables: boolean[] } {
  const chars = Array.from(text);
  const parts: string[] = [];
  const syllables: boolean[] = [];
  let i = 0;
  while (i < chars.length) {
    const cp = chars[i]!.codePointAt(0)!;
    const own = syllableOf(cp, dict, parts, syllables);
    if (own === undefined) {
      parts.push(chars[i]!);
      syllables.push(false);
      i++;
      continue;
    }
    let matched = false;
    for (let len = Math.min(dict.maxWordLength, chars.length - i); len >= 2 && !matched; len--) {
      const word = dict.words.get(chars.slice(i, i + len).join(""));
      if (word) {
        for (const s of word) {
          parts.push(s);
          syllables.push(true);
        }
        i += len;
        matched = true;
      }
    }
    if (!matched) {
      parts.push(own);
      syllables.push(true);
      i++;
    }
  }
  return { parts, syllables };
}

function syllableOf(cp: number, dict: PinyinDictionary, parts: string[], syllables: boolean[]): string | undefined {
  if (cp === ITERATION_MARK && syllables.at(-1) === true) return parts.at(-1);
  return dict.syllableOf(cp);
}

/** Syllable indices below this take one digit in pinyin-data.ts, the others two (see readIndex in digits.ts). */
export const ONE_DIGIT_SYLLABLES = 89;
