// Customer code patterns such as C{yyyy}{seq:6}: validation, rendering and the counter key they number under.
import * as z from "zod";

const TOKEN = /\{(yyyy|yy|mm|dd|seq:(\d{1,2}))\}/g;

/** A pattern: literal characters [A-Za-z0-9-_./] plus {yyyy} {yy} {mm} {dd} and exactly one {seq:N} (N 1..12). */
export const CodePatternSchema = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .superRefine((p, ctx) => {
    const seqs = [...p.matchAll(TOKEN)].filter((m) => m[1]!.startsWith("seq"));
    if (seqs.length !== 1) ctx.addIssue({ code: "custom", message: "pattern needs exactly one {seq:N}" });
    const width = Number(seqs[0]?.[2] ?? 0);
    if (seqs.length === 1 && (width < 1 || width > 12)) {
      ctx.addIssue({ code: "custom", message: "{seq:N} takes N from 1 to 12" });
    }
    if (!/^([A-Za-z0-9]|\{)/.test(p)) {
      ctx.addIssue({ code: "custom", message: "pattern must start with a letter, a digit or a token" });
    }
    const rendered = p.replace(TOKEN, (_m, tok: string) =>
      tok === "yyyy" ? "2026" : tok.startsWith("seq") ? "9".repeat(width || 1) : "01",
    );
    if (rendered.length > 64) ctx.addIssue({ code: "custom", message: "codes from this pattern exceed 64 characters" });
    const literal = p.replace(TOKEN, "");
    if (!/^[A-Za-z0-9\-_./]*$/.test(literal)) {
      ctx.addIssue({ code: "custom", message: "pattern may contain only letters, digits, - _ . / and the tokens" });
    }
  });

export const DEFAULT_CODE_PATTERN = "C{yyyy}{seq:6}";

/** Calendar parts of `at` in the tenant's time zone. */
export function dateParts(at: Date, timeZone: string): { yyyy: string; mm: string; dd: string } {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(at)
    .reduce<Record<string, string>>((acc, p) => ((acc[p.type] = p.value), acc), {});
  return { yyyy: parts.year!, mm: parts.month!, dd: parts.day! };
}

/** The pattern with its date tokens filled in and {seq} left as the marker: the key its counter runs under. */
export function counterKey(pattern: string, at: Date, timeZone: string): string {
  const d = dateParts(at, timeZone);
  return pattern.replace(TOKEN, (_m, tok: string) =>
    tok === "yyyy" ? d.yyyy : tok === "yy" ? d.yyyy.slice(2) : tok === "mm" ? d.mm : tok === "dd" ? d.dd : "{seq}",
  );
}

/** The code for sequence number `seq` (zero-padded to the pattern's width; wider numbers are kept whole). */
export function renderCode(pattern: string, at: Date, timeZone: string, seq: number): string {
  const width = Number(/\{seq:(\d{1,2})\}/.exec(pattern)?.[1] ?? 6);
  return counterKey(pattern, at, timeZone).replace("{seq}", String(seq).padStart(width, "0"));
}
