// Unified social credit code (统一社会信用代码, GB 32100-2015): normalisation, check character and zod schema.
import * as z from "zod";

/** The 31 characters allowed in a USCC, in check-digit order (no I, O, S, V, Z). */
export const USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/** Weights for positions 1..17 (3^(i-1) mod 31), as published in GB 32100-2015. */
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const;

const CHARSET_RE = /^[0-9A-HJ-NP-RTUW-Y]+$/;
const REGION_RE = /^\d{6}$/;

/** Why a string is not a valid USCC. */
export type UsccFailure = "length" | "charset" | "region" | "checkDigit";

/** Result of {@link validateUscc}: the normalised code, or the first failing rule with a readable message. */
export type UsccResult = { ok: true; value: string } | { ok: false; reason: UsccFailure; message: string };

/**
 * Computes the 18th (check) character for the first 17 characters of a USCC.
 * The input must already be upper-case and use only {@link USCC_CHARSET}.
 * @throws RangeError when `first17` is not 17 characters from the USCC charset.
 */
export function usccCheckChar(first17: string): string {
  if (first17.length !== 17 || !CHARSET_RE.test(first17)) {
    throw new RangeError("usccCheckChar expects 17 characters from the USCC charset");
  }
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC_CHARSET.indexOf(first17.charAt(i)) * WEIGHTS[i]!;
  return USCC_CHARSET.charAt((31 - (sum % 31)) % 31);
}

/**
 * Validates a unified social credit code. The input is NFKC-normalised (fullwidth → ASCII), trimmed and
 * upper-cased first; on success `value` is that normalised form. Rules, checked in this order:
 * `length` (exactly 18 characters), `charset` (0-9 and A-Z without I O S V Z),
 * `region` (positions 3-8 are six digits; only the shape is checked, not the region table, since
 * codes issued under abolished or national-level "100000" regions are legitimate) and `checkDigit`.
 */
export function validateUscc(s: string): UsccResult {
  const value = s.normalize("NFKC").trim().toUpperCase();
  if (value.length !== 18) {
    return { ok: false, reason: "length", message: `USCC must be 18 characters, got ${value.length}` };
  }
  if (!CHARSET_RE.test(value)) {
    return {
      ok: false,
      reason: "charset",
      message: "USCC may only contain digits and letters A-Z except I, O, S, V, Z",
    };
  }
  if (!REGION_RE.test(value.slice(2, 8))) {
    return { ok: false, reason: "region", message: "USCC positions 3-8 must be a 6-digit region code" };
  }
  const expected = usccCheckChar(value.slice(0, 17));
  if (value.charAt(17) !== expected) {
    return {
      ok: false,
      reason: "checkDigit",
      message: `USCC check character is wrong (expected ${expected}, got ${value.charAt(17)})`,
    };
  }
  return { ok: true, value };
}

/** zod schema: string → normalised upper-case USCC; the issue message names the failed rule. */
export const UsccSchema = z.string({ error: "USCC must be a string" }).transform((s, ctx) => {
  const r = validateUscc(s);
  if (!r.ok) {
    ctx.addIssue({ code: "custom", message: r.message, params: { reason: r.reason } });
    return z.NEVER;
  }
  return r.value;
});
