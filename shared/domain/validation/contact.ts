// Phone, fax, postcode and e-mail parsing for contacts, with Chinese numbers normalised to one canonical form.
import * as z from "zod";

/**
 * Kind of a parsed phone number:
 * - `mobile`: Chinese mobile, canonical `13812345678` (prefix +86 / 0086 / 86 dropped);
 * - `landline`: Chinese fixed line, canonical `021-12345678` or `0571-88888888`, extension as `-123`;
 * - `service`: 400 / 800 national service number, canonical `400-123-4567`;
 * - `international`: any other country in E.164, canonical `+442071234567`, extension as `-123`.
 */
export type PhoneKind = "mobile" | "landline" | "service" | "international";

/** Result of {@link parsePhone}. */
export type PhoneResult = { ok: true; value: string; kind: PhoneKind } | { ok: false; message: string };

const MOBILE = /^1[3-9]\d{9}$/;
const SERVICE = /^([48]00)(\d{3})(\d{4})$/;
/** Area code: 010, 02X (3 digits) or 0 + three digits starting 3-9; subscriber 7-8 digits not starting with 0. */
const LANDLINE = /^(010|02\d|0[3-9]\d{2})([1-9]\d{6,7})$/;
const AREA = /^(010|02\d|0[3-9]\d{2})$/;
const E164 = /^[1-9]\d{6,14}$/;
/** Explicit extension markers: "ext 123", "ext. 123", "x123", "#123", "转123", "分机123". */
const EXT_MARKER = /\s*(?:ext\.?|x|#|转|分机)\s*(\d{1,6})$/i;
const ALLOWED = /^\+?[\d\s\-().]+$/;
const SEPARATORS = /[\s\-().]+/;

function landline(digits: string, ext: string | undefined): PhoneResult | undefined {
  const m = LANDLINE.exec(digits);
  if (!m) return undefined;
  return { ok: true, kind: "landline", value: `${m[1]}-${m[2]}${ext ? `-${ext}` : ""}` };
}

/** Parses a Chinese national number (digits only, no country code). */
function parseChinese(digits: string, groups: string[], ext: string | undefined): PhoneResult | undefined {
  // "area sub ext" written as three groups, e.g. 010-12345678-123.
  if (
    !ext &&
    groups.length === 3 &&
    AREA.test(groups[0]!) &&
    /^\d{7,8}$/.test(groups[1]!) &&
    /^\d{1,6}$/.test(groups[2]!)
  ) {
    const r = landline(groups[0]! + groups[1]!, groups[2]);
    if (r) return r;
  }
  if (MOBILE.test(digits)) return ext ? undefined : { ok: true, kind: "mobile", value: digits };
  const s = SERVICE.exec(digits);
  if (s) return ext ? undefined : { ok: true, kind: "service", value: `${s[1]}-${s[2]}-${s[3]}` };
  return landline(digits, ext);
}

/**
 * Parses a phone number written in any common way (NFKC-normalised, trimmed; spaces, dashes, dots and
 * brackets are separators) and returns its canonical form (see {@link PhoneKind}). Accepted:
 * Chinese mobiles with optional +86 / 0086 / 86 prefix; landlines with area code (also +86 21 …);
 * extensions after a third group or "ext"/"x"/"#"/"转"/"分机" (landlines and international only);
 * 400/800 numbers; and other countries as +CC… or 00CC… with 7-15 digits (E.164).
 */
export function parsePhone(raw: string): PhoneResult {
  let s = raw.normalize("NFKC").trim();
  if (s === "") return { ok: false, message: "Phone number is empty" };
  let ext: string | undefined;
  const em = EXT_MARKER.exec(s);
  if (em) {
    ext = em[1];
    s = s.slice(0, em.index).trim();
  }
  if (!ALLOWED.test(s))
    return { ok: false, message: "Phone number may only contain digits, +, spaces, dashes, dots and brackets" };
  const international = s.startsWith("+") || s.startsWith("00");
  let body = s.startsWith("+") ? s.slice(1) : s.startsWith("00") ? s.slice(2) : s;
  // "+44 (0)20 …": the bracketed trunk prefix is not dialled from abroad.
  if (international) body = body.replace(/\(\s*0\s*\)/, " ");
  const groups = body.split(SEPARATORS).filter((g) => g !== "");
  const digits = groups.join("");

  if (international) {
    if (digits.startsWith("86")) {
      // +86 10 12345678 (no trunk 0) is standard; +86 010 12345678 is common too.
      const national = digits.slice(2);
      const nationalGroups = groups.slice();
      nationalGroups[0] = nationalGroups[0]!.slice(2);
      if (nationalGroups[0] === "") nationalGroups.shift();
      const r =
        parseChinese(national, nationalGroups, ext) ??
        (national.startsWith("0") ? undefined : parseChinese(`0${national}`, [], ext));
      if (r && r.ok && (r.kind === "mobile" || r.kind === "landline")) return r;
      return { ok: false, message: "Not a valid Chinese mobile or landline number after +86" };
    }
    if (!E164.test(digits))
      return { ok: false, message: "International number must be + country code and 7-15 digits" };
    return { ok: true, kind: "international", value: `+${digits}${ext ? `-${ext}` : ""}` };
  }

  const r =
    parseChinese(digits, groups, ext) ??
    (digits.startsWith("86") && MOBILE.test(digits.slice(2)) && !ext
      ? { ok: true as const, kind: "mobile" as const, value: digits.slice(2) }
      : undefined);
  if (r) return r;
  if (ext && (MOBILE.test(digits) || SERVICE.test(digits))) {
    return { ok: false, message: "Only landlines and international numbers may have an extension" };
  }
  if (digits.startsWith("0"))
    return { ok: false, message: "Landline must be area code + 7-8 digits, e.g. 021-12345678" };
  if (/^\d{7,8}$/.test(digits)) return { ok: false, message: "Landline needs an area code, e.g. 021-12345678" };
  if (digits.startsWith("1")) return { ok: false, message: "Mobile number must be 11 digits starting 13-19" };
  return {
    ok: false,
    message: "Phone number must be a Chinese mobile, a landline with area code, a 400/800 number or +country code",
  };
}

/** zod schema: any accepted phone number → its canonical string (see {@link parsePhone}). */
export const PhoneSchema = z.string({ error: "Phone number must be a string" }).transform((s, ctx) => {
  const r = parsePhone(s);
  if (!r.ok) {
    ctx.addIssue({ code: "custom", message: r.message });
    return z.NEVER;
  }
  return r.value;
});

/**
 * zod schema for fax numbers: a Chinese landline (with optional extension) or an international
 * E.164 number, in the same canonical form as {@link PhoneSchema}; mobiles and 400/800 numbers are rejected.
 */
export const FaxSchema = z.string({ error: "Fax number must be a string" }).transform((s, ctx) => {
  const r = parsePhone(s);
  if (!r.ok) {
    ctx.addIssue({ code: "custom", message: r.message.replace(/^Phone number/, "Fax number") });
    return z.NEVER;
  }
  if (r.kind !== "landline" && r.kind !== "international") {
    ctx.addIssue({ code: "custom", message: "Fax number must be a landline with area code, e.g. 021-12345678" });
    return z.NEVER;
  }
  return r.value;
});

/** zod schema for a Chinese postcode (邮政编码): trimmed, exactly 6 digits. */
export const PostcodeSchema = z
  .string({ error: "Postcode must be a string" })
  .transform((s) => s.normalize("NFKC").trim())
  .pipe(z.string().regex(/^\d{6}$/, { error: "Chinese postcode must be 6 digits" }));

/**
 * zod schema for a postcode of any country: NFKC-normalised, trimmed, inner spaces collapsed and upper-cased;
 * 2-10 letters/digits with optional single spaces or dashes between them (e.g. `SW1A 1AA`, `10001-1234`, `100-0001`).
 */
export const GenericPostcodeSchema = z
  .string({ error: "Postcode must be a string" })
  .transform((s) => s.normalize("NFKC").trim().replace(/\s+/g, " ").toUpperCase())
  .pipe(
    z
      .string()
      .min(2, { error: "Postcode must be at least 2 characters" })
      .max(10, { error: "Postcode must be at most 10 characters" })
      .regex(/^[0-9A-Z]+(?:[ -][0-9A-Z]+)*$/, {
        error: "Postcode may only contain letters, digits, spaces and dashes",
      }),
  );

/**
 * zod schema for an e-mail address: trimmed, at most 254 characters, zod's e-mail format;
 * the domain is lower-cased (the local part is kept as typed, since it may be case-sensitive).
 */
export const EmailSchema = z
  .string({ error: "E-mail must be a string" })
  .trim()
  .max(254, { error: "E-mail must be at most 254 characters" })
  .pipe(z.email({ error: "E-mail address is not valid" }))
  .transform((s) => {
    const at = s.lastIndexOf("@");
    return s.slice(0, at) + s.slice(at).toLowerCase();
  });
