// Money: decimal strings with at most 2 places at the edges ("1234.50"), integer fen (cents) inside. Never floats.
import * as z from "zod";

/** Up to 2 decimal places, optional leading minus; no exponent, no grouping, no leading "+" or ".". */
const DECIMAL = /^(-?)(\d{1,16})(?:\.(\d{1,2}))?$/;

/** Parses a decimal string to integer fen, or undefined when it is not an exact amount of at most 2 places. */
export function parseFen(s: string): number | undefined {
  const m = DECIMAL.exec(s);
  if (!m) return undefined;
  const fen = Number(m[2]) * 100 + Number((m[3] ?? "").padEnd(2, "0"));
  if (!Number.isSafeInteger(fen)) return undefined;
  return m[1] ? -fen : fen;
}

/** Formats integer fen as a decimal string with exactly 2 places ("1234.50", "-0.05"). */
export function formatFen(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`not a whole number of fen: ${fen}`);
  const sign = fen < 0 ? "-" : "";
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** a + b (and so on) in fen, refusing to leave the safe-integer range. */
export function addFen(...xs: number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  if (!Number.isSafeInteger(sum)) throw new RangeError("amount out of range");
  return sum;
}

/** quantity x unit price in fen, exact (quantities are whole numbers). */
export function mulFen(fen: number, quantity: number): number {
  const out = fen * quantity;
  if (!Number.isSafeInteger(out) || !Number.isSafeInteger(quantity)) throw new RangeError("amount out of range");
  return out;
}

/**
 * A money field of a request: a decimal string of at most 2 places (numbers are refused, since a JSON number may
 * already have been rounded by the client). Outputs fen. `negative` allows a leading minus.
 */
export function moneySchema(opts: { negative?: boolean; positive?: boolean } = {}) {
  return z.string().transform((s, ctx) => {
    const fen = parseFen(s);
    if (fen === undefined) {
      ctx.addIssue({ code: "custom", message: 'an amount is a decimal string with at most 2 places, e.g. "1234.50"' });
      return z.NEVER;
    }
    if (fen < 0 && !opts.negative) {
      ctx.addIssue({ code: "custom", message: "amount must not be negative" });
      return z.NEVER;
    }
    if (fen === 0 && opts.positive) {
      ctx.addIssue({ code: "custom", message: "amount must be greater than zero" });
      return z.NEVER;
    }
    return fen;
  });
}
