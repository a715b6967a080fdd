// Unit tests for the unified social credit code validator (GB 32100-2015).
import { describe, expect, it } from "vitest";
import { USCC_CHARSET, UsccSchema, usccCheckChar, validateUscc } from "../../../shared/domain/validation/uscc.ts";

/** Independent reference: weights derived as 3^i mod 31 and a character table written out by hand. */
function referenceValid(code: string): boolean {
  const table: Record<string, number> = {};
  "0123456789".split("").forEach((d, i) => (table[d] = i));
  ["A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "Q", "R", "T", "U", "W", "X", "Y"].forEach(
    (c, i) => (table[c] = 10 + i),
  );
  if (code.length !== 18) return false;
  let sum = 0;
  let w = 1;
  for (let i = 0; i < 17; i++) {
    const v = table[code[i]!];
    if (v === undefined) return false;
    sum += v * w;
    w = (w * 3) % 31;
  }
  const check = (31 - (sum % 31)) % 31;
  return table[code[17]!] === check;
}

/** Codes published by the companies / registries themselves (business licence disclosures). */
const PUBLISHED = [
  "91350100M000100Y43",
  "91110000600037341L",
  "914403001922038216",
  "9144030071526726XG",
  "91330100799655058B",
  "91110108551385082Q",
  "911000001000013428",
  "91100000100003962T",
];

describe("usccCheckChar", () => {
  it("matches the independent reference for every published code", () => {
    for (const code of PUBLISHED) {
      expect(referenceValid(code), code).toBe(true);
      expect(usccCheckChar(code.slice(0, 17))).toBe(code[17]);
    }
  });

  it("agrees with the reference on pseudo-random inputs", () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % USCC_CHARSET.length;
    for (let n = 0; n < 500; n++) {
      let first17 = "";
      for (let i = 0; i < 17; i++) first17 += USCC_CHARSET[rnd()];
      expect(referenceValid(first17 + usccCheckChar(first17))).toBe(true);
    }
  });

  it("rejects input that is not 17 charset characters", () => {
    expect(() => usccCheckChar("9135010")).toThrow(RangeError);
    expect(() => usccCheckChar("91350100M000100YI")).toThrow(RangeError);
  });
});

describe("validateUscc", () => {
  it.each(PUBLISHED)("accepts %s", (code) => {
    expect(validateUscc(code)).toEqual({ ok: true, value: code });
  });

  it("trims, upper-cases and folds fullwidth input", () => {
    expect(validateUscc("  91350100m000100y43\n")).toEqual({ ok: true, value: "91350100M000100Y43" });
    expect(validateUscc("９１１１００００６０００３７３４１Ｌ")).toEqual({ ok: true, value: "91110000600037341L" });
  });

  it("reports length", () => {
    expect(validateUscc("91350100M000100Y4")).toMatchObject({ ok: false, reason: "length" });
    expect(validateUscc("91350100M000100Y433")).toMatchObject({ ok: false, reason: "length" });
    expect(validateUscc("")).toMatchObject({ ok: false, reason: "length" });
  });

  it("reports charset for I, O, S, V, Z and symbols", () => {
    for (const bad of ["I", "O", "S", "V", "Z", "-", "*"]) {
      const code = `91350100M000100${bad}43`;
      expect(validateUscc(code), code).toMatchObject({ ok: false, reason: "charset" });
    }
  });

  it("reports a non-numeric region part", () => {
    expect(validateUscc("913501A0M000100Y43")).toMatchObject({ ok: false, reason: "region" });
  });

  it("reports a wrong check character for every single-character mutation of the body", () => {
    for (const code of PUBLISHED) {
      for (let i = 0; i < 17; i++) {
        // Keep positions 3-8 numeric so the region rule does not fire first.
        const replacement = /\d/.test(code[i]!) ? String((Number(code[i]) + 1) % 10) : code[i] === "A" ? "B" : "A";
        const mutated = code.slice(0, i) + replacement + code.slice(i + 1);
        expect(validateUscc(mutated), mutated).toMatchObject({ ok: false, reason: "checkDigit" });
      }
    }
  });

  it("reports a wrong check character and names the expected one", () => {
    const r = validateUscc("91350100M000100Y44");
    expect(r).toMatchObject({ ok: false, reason: "checkDigit" });
    if (!r.ok) expect(r.message).toContain("expected 3");
  });

  it("detects swapped neighbours", () => {
    expect(validateUscc("91110000600037314L")).toMatchObject({ ok: false, reason: "checkDigit" });
  });
});

describe("UsccSchema", () => {
  it("outputs the normalised code", () => {
    expect(UsccSchema.parse(" 9144030071526726xg ")).toBe("9144030071526726XG");
  });

  it("gives a message naming the failure", () => {
    const cases: Array<[string, RegExp]> = [
      ["123", /18 characters/],
      ["91350100M000100O43", /except I, O, S, V, Z/],
      ["91350100M000100Y44", /check character/],
    ];
    for (const [input, msg] of cases) {
      const r = UsccSchema.safeParse(input);
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.message).toMatch(msg);
    }
    expect(UsccSchema.safeParse(123).error?.issues[0]?.message).toBe("USCC must be a string");
  });
});
