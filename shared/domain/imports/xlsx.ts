// XLSX read straight from S3 with ranged reads: the ZIP's central directory first (entry count and declared sizes
// checked against zip bombs, encrypted entries refused), then only the entries needed (workbook, its relationships,
// shared strings, one sheet), each inflated as a stream (fflate) with its real size counted, and the sheet's XML
// parsed as a stream (saxes) into rows. Memory holds the shared strings table and one chunk, whatever the sheet size.
import { Inflate } from "fflate";
import { SaxesParser } from "saxes";
import { BadFileError } from "./csv.ts";
import { readRange } from "./storage.ts";

export const XLSX_LIMITS = {
  /** Entries in the archive (a real workbook has a few dozen). */
  maxEntries: 10_000,
  /** Uncompressed bytes of all entries together. */
  maxTotalBytes: 2 * 1024 ** 3,
  /** Uncompressed / compressed of one entry (XML compresses ~10-20x; a bomb 1000x and more). */
  maxRatio: 200,
  /** Characters of the shared strings table (held in memory). */
  maxSharedChars: 64 * 1024 ** 2,
};

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const bomb = (why: string) => new BadFileError(`the XLSX file looks like a zip bomb: ${why}`);

/** Reads and checks the archive's central directory. */
export async function centralDirectory(key: string, size: number, etag?: string): Promise<Map<string, ZipEntry>> {
  const tailLen = Math.min(size, 65_557);
  const tail = await bytes(key, size - tailLen, size - 1, etag);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new BadFileError("the XLSX file is damaged: no ZIP directory at its end");
  const count = tail.readUInt16LE(eocd + 10);
  const cdSize = tail.readUInt32LE(eocd + 12);
  const cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    throw new BadFileError("ZIP64 workbooks (over 4 GB or 65535 entries) are not supported; save it as CSV");
  }
  if (count > XLSX_LIMITS.maxEntries) throw bomb(`${count} entries`);
  if (cdOffset + cdSize > size) throw new BadFileError("the XLSX file is damaged: its ZIP directory is cut off");
  const cd = await bytes(key, cdOffset, cdOffset + cdSize - 1, etag);
  const entries = new Map<string, ZipEntry>();
  let total = 0;
  for (let p = 0, n = 0; n < count; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) {
      throw new BadFileError("the XLSX file is damaged: a bad ZIP directory entry");
    }
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const compressedSize = cd.readUInt32LE(p + 20);
    const entrySize = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const localOffset = cd.readUInt32LE(p + 42);
    const name = cd.subarray(p + 46, p + 46 + nameLen).toString("utf8");
    p += 46 + nameLen + extraLen + commentLen;
    if (flags & 1) throw new BadFileError("the workbook is password-protected; remove the password and save it again");
    total += entrySize;
    if (total > XLSX_LIMITS.maxTotalBytes) throw bomb(`more than ${XLSX_LIMITS.maxTotalBytes} bytes uncompressed`);
    if (entrySize > 1024 * 1024 && entrySize > compressedSize * XLSX_LIMITS.maxRatio) {
      throw bomb(`${name} inflates ${Math.round(entrySize / Math.max(1, compressedSize))} times`);
    }
    entries.set(name, { name, method, compressedSize, size: entrySize, localOffset });
  }
  return entries;
}

async function bytes(key: string, start: number, end: number, etag?: string): Promise<Buffer> {
  if (end < start) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const c of await readRange(key, start, end, etag)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** An entry's uncompressed bytes as a stream; never more than it declared (a lying header is a bomb too). */
export async function* entryBytes(key: string, e: ZipEntry, etag?: string): AsyncGenerator<Uint8Array> {
  const local = await bytes(key, e.localOffset, e.localOffset + 29, etag);
  if (local.length < 30 || local.readUInt32LE(0) !== 0x04034b50) {
    throw new BadFileError(`the XLSX file is damaged: ${e.name} cannot be found`);
  }
  const start = e.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  if (e.compressedSize === 0) return;
  const body = await readRange(key, start, start + e.compressedSize - 1, etag);
  if (e.method === 0) {
    for await (const c of body) yield c as Buffer;
    return;
  }
  if (e.method !== 8) throw new BadFileError(`the XLSX file uses an unsupported compression (${e.method})`);
  let out: Uint8Array[] = [];
  let produced = 0;
  const inflate = new Inflate((data) => {
    produced += data.length;
    if (produced > e.size) throw bomb(`${e.name} inflates beyond its declared size`);
    out.push(data);
  });
  try {
    for await (const c of body) {
      inflate.push(c as Uint8Array, false);
      if (out.length) {
        const ready = out;
        out = [];
        yield* ready;
      }
    }
    inflate.push(new Uint8Array(0), true);
  } catch (err) {
    if (err instanceof BadFileError) throw err;
    throw new BadFileError(`the XLSX file is damaged: ${e.name} does not inflate`);
  } finally {
    body.destroy();
  }
  yield* out;
}

interface XmlEvent {
  type: "open" | "close" | "text";
  name: string;
  attrs?: Record<string, string>;
  text?: string;
}

/** SAX events of an entry's XML, in document order, a chunk at a time. */
async function* xmlEvents(key: string, e: ZipEntry, etag?: string): AsyncGenerator<XmlEvent> {
  const parser = new SaxesParser();
  let queue: XmlEvent[] = [];
  parser.on("opentag", (t) =>
    queue.push({ type: "open", name: t.name, attrs: t.attributes as Record<string, string> }),
  );
  parser.on("closetag", (t) => queue.push({ type: "close", name: t.name }));
  parser.on("text", (text) => queue.push({ type: "text", name: "", text }));
  parser.on("cdata", (text) => queue.push({ type: "text", name: "", text }));
  const decoder = new TextDecoder("utf-8");
  try {
    for await (const c of entryBytes(key, e, etag)) {
      parser.write(decoder.decode(c, { stream: true }));
      const ready = queue;
      queue = [];
      yield* ready;
    }
    parser.write(decoder.decode()).close();
  } catch (err) {
    if (err instanceof BadFileError) throw err;
    throw new BadFileError(`the XLSX file is damaged: ${e.name} is not well-formed XML`);
  }
  yield* queue;
}

const local = (name: string) => name.slice(name.indexOf(":") + 1);

/** The workbook's sheets in order, with the entry each one lives in. */
async function sheetsOf(key: string, entries: Map<string, ZipEntry>, etag?: string) {
  const wb = entries.get("xl/workbook.xml");
  const rels = entries.get("xl/_rels/workbook.xml.rels");
  if (!wb || !rels) throw new BadFileError("the file is a ZIP but not an XLSX workbook (no xl/workbook.xml)");
  const targets = new Map<string, string>();
  for await (const ev of xmlEvents(key, rels, etag)) {
    if (ev.type === "open" && local(ev.name) === "Relationship" && ev.attrs?.Id && ev.attrs.Target) {
      const t = ev.attrs.Target;
      targets.set(ev.attrs.Id, t.startsWith("/") ? t.slice(1) : `xl/${t}`);
    }
  }
  const sheets: { name: string; path: string }[] = [];
  for await (const ev of xmlEvents(key, wb, etag)) {
    if (ev.type !== "open" || local(ev.name) !== "sheet") continue;
    const rid = Object.entries(ev.attrs ?? {}).find(([k]) => local(k) === "id")?.[1];
    const path = rid ? targets.get(rid) : undefined;
    if (ev.attrs?.name && path) sheets.push({ name: ev.attrs.name, path });
  }
  return sheets;
}

/** The shared strings table (each `<si>`'s text, without phonetic runs). */
async function sharedStrings(key: string, entries: Map<string, ZipEntry>, etag?: string): Promise<string[]> {
  const e = entries.get("xl/sharedStrings.xml");
  if (!e) return [];
  const out: string[] = [];
  let current: string | undefined;
  let inT = false;
  let phonetic = 0;
  let chars = 0;
  for await (const ev of xmlEvents(key, e, etag)) {
    const n = local(ev.name);
    if (ev.type === "open") {
      if (n === "si") current = "";
      else if (n === "rPh") phonetic++;
      else if (n === "t") inT = true;
    } else if (ev.type === "close") {
      if (n === "si") {
        out.push(current ?? "");
        current = undefined;
      } else if (n === "rPh") phonetic--;
      else if (n === "t") inT = false;
    } else if (inT && phonetic === 0 && current !== undefined) {
      current += ev.text;
      chars += ev.text!.length;
      if (chars > XLSX_LIMITS.maxSharedChars) {
        throw new BadFileError("the workbook's shared text is too large to import; save the sheet as CSV");
      }
    }
  }
  return out;
}

/** "AB12" -> 27 (zero-based column). */
function columnOf(ref: string): number {
  let n = 0;
  for (const ch of ref) {
    const c = ch.charCodeAt(0);
    if (c < 65 || c > 90) break;
    n = n * 26 + (c - 64);
  }
  return n - 1;
}

/** What a number format shows: a date, a date and time, a time of day, or (undefined) a number. */
export type DateKind = "date" | "datetime" | "time";

/**
 * Built-in number formats (ECMA-376 18.8.30, with the zh-CN ones Excel writes for 27-36 and 50-58) that show dates
 * or times: a cell stored with one of them holds a serial day number, not a number the user typed.
 */
const BUILTIN_FORMATS: Record<number, DateKind> = {
  14: "date",
  15: "date",
  16: "date",
  17: "date",
  18: "time",
  19: "time",
  20: "time",
  21: "time",
  22: "datetime",
  27: "date",
  28: "date",
  29: "date",
  30: "date",
  31: "date",
  32: "time",
  33: "time",
  34: "time",
  35: "time",
  36: "date",
  45: "time",
  46: "time",
  47: "time",
  50: "date",
  51: "date",
  52: "date",
  53: "date",
  54: "date",
  55: "time",
  56: "time",
  57: "date",
  58: "date",
};

/**
 * What a custom format code shows. Quoted text, escaped and padding characters and bracketed parts (colours, locales,
 * `[DBNum1]`) say nothing; `[h]` `[mm]` `[ss]` are elapsed time. y and d are dates, h and s (and AM/PM) times, and m
 * is a month unless the code has a time part, where it may be minutes (`yyyy/m/d h:mm` is both).
 */
export function formatKind(code: string): DateKind | undefined {
  const c = (code.split(";")[0] ?? "")
    .replace(/"[^"]*"/g, "")
    .replace(/\\./g, "")
    .replace(/[_*]./g, "")
    .replace(/\[(h+|m+|s+)\]/gi, "h")
    .replace(/\[[^\]]*\]/g, "")
    .toLowerCase();
  const bare = c.replace(/am\/pm|a\/p|上午\/下午/g, "");
  const time = bare !== c || /[hs]/.test(bare);
  const date = /[yd]/.test(bare) || (!time && /m/.test(bare));
  return date && time ? "datetime" : date ? "date" : time ? "time" : undefined;
}

/** The last serial day Excel has (9999-12-31). */
const MAX_SERIAL = 2_958_465;

/**
 * A serial day number as text: `YYYY-MM-DD` for a date, `YYYY-MM-DD HH:mm:ss` for a date and time (the date alone at
 * midnight), `HH:mm:ss` for a time; to the second. The 1900 system counts 1900-01-01 as 1 and has Lotus' 29 February
 * 1900 (60); the 1904 system counts from 1904-01-01 as 0. Undefined for a number no date has.
 */
export function serialText(serial: number, kind: DateKind, date1904 = false): string | undefined {
  if (!Number.isFinite(serial) || serial < 0 || serial > MAX_SERIAL) return undefined;
  const base = date1904 ? Date.UTC(1904, 0, 1) : serial < 60 ? Date.UTC(1899, 11, 31) : Date.UTC(1899, 11, 30);
  const iso = new Date(base + Math.round(serial * 86_400) * 1000).toISOString();
  const day = iso.slice(0, 10);
  const time = iso.slice(11, 19);
  if (kind === "time") return time;
  return kind === "datetime" && time !== "00:00:00" ? `${day} ${time}` : day;
}

/**
 * A number cell's value as Excel shows it: to 15 significant digits, which drops the binary noise a formula's cached
 * result carries (`112.88700000000001` is 112.887, `10.499999999999998` is 10.5). Anything else is kept as it is.
 */
export function excelNumber(value: string): string {
  if (!/^-?\d+(\.\d+)?(E[+-]?\d+)?$/i.test(value)) return value;
  const x = Number(value);
  if (!Number.isFinite(x)) return value;
  const shown = Number(x.toPrecision(15));
  return Math.abs(shown) < 1e21
    ? shown.toLocaleString("en-US", { useGrouping: false, maximumSignificantDigits: 15 })
    : value;
}

/**
 * A cell's text by its type: a shared string (`s`), a boolean (`b`), an ISO 8601 date (`d`, strict OOXML: the date
 * alone at midnight), a number in a date style (`kind`) as the date it shows, another number as Excel shows it;
 * inline and formula strings as they are.
 */
export function cellText(type: string, value: string, shared: string[], kind: DateKind | undefined, date1904: boolean) {
  if (type === "s") return shared[Number(value)] ?? "";
  if (type === "b") return value === "1" ? "TRUE" : "FALSE";
  if (type === "d") {
    const m = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}:\d{2}))?/.exec(value);
    return m ? (m[2] && m[2] !== "00:00:00" ? `${m[1]} ${m[2]}` : m[1]!) : value;
  }
  if (kind) return serialText(Number(value), kind, date1904) ?? value;
  return type === "n" ? excelNumber(value) : value;
}

/** Which cell styles show dates (by `s` index), and whether the workbook counts days from 1904. */
export interface CellFormats {
  dateStyles: Map<number, DateKind>;
  date1904: boolean;
}

/** The workbook's date styles (xl/styles.xml's `cellXfs` and `numFmts`) and its date system (`workbookPr`). */
async function cellFormats(key: string, entries: Map<string, ZipEntry>, etag?: string): Promise<CellFormats> {
  const out: CellFormats = { dateStyles: new Map(), date1904: false };
  const wb = entries.get("xl/workbook.xml");
  if (wb) {
    for await (const ev of xmlEvents(key, wb, etag)) {
      if (ev.type === "open" && local(ev.name) === "workbookPr") {
        out.date1904 = ev.attrs?.date1904 === "1" || ev.attrs?.date1904 === "true";
        break;
      }
    }
  }
  const styles = entries.get("xl/styles.xml");
  if (!styles) return out;
  const custom = new Map<number, DateKind | undefined>();
  let inCellXfs = false;
  let inNumFmts = false;
  let xf = 0;
  for await (const ev of xmlEvents(key, styles, etag)) {
    const n = local(ev.name);
    if (n === "numFmts") inNumFmts = ev.type === "open";
    else if (ev.type === "open" && n === "numFmt" && inNumFmts && ev.attrs?.numFmtId) {
      custom.set(Number(ev.attrs.numFmtId), formatKind(ev.attrs.formatCode ?? ""));
    } else if (n === "cellXfs") inCellXfs = ev.type === "open";
    else if (ev.type === "open" && n === "xf" && inCellXfs) {
      const id = Number(ev.attrs?.numFmtId ?? 0);
      const kind = custom.has(id) ? custom.get(id) : BUILTIN_FORMATS[id];
      if (kind) out.dateStyles.set(xf, kind);
      xf++;
    }
  }
  return out;
}

export interface OpenedWorkbook {
  entries: Map<string, ZipEntry>;
  sheetPath: string;
  sheetName: string;
}

/** Finds the sheet to import: the one named `sheet`, or the first. */
export async function openWorkbook(key: string, size: number, sheet: string | undefined, etag?: string) {
  const entries = await centralDirectory(key, size, etag);
  const sheets = await sheetsOf(key, entries, etag);
  const chosen = sheet === undefined ? sheets[0] : sheets.find((s) => s.name === sheet);
  if (!chosen) {
    throw new BadFileError(
      sheet === undefined
        ? "the workbook has no sheets"
        : `the workbook has no sheet named "${sheet}" (it has: ${sheets.map((s) => s.name).join(", ")})`,
    );
  }
  if (!entries.has(chosen.path)) throw new BadFileError(`the XLSX file is damaged: ${chosen.path} is missing`);
  return { entries, sheetPath: chosen.path, sheetName: chosen.name } satisfies OpenedWorkbook;
}

export interface SheetRow {
  line: number;
  cells: string[];
}

/**
 * The rows of a sheet from row `from` on (blank rows skipped), as text cells; `dimension` is told when seen. A number
 * in a date style is the date it shows (`serialText`), as a user reads it in Excel, not its serial day number.
 */
export async function* sheetRows(
  key: string,
  wb: OpenedWorkbook,
  from: number,
  etag?: string,
  onDimension?: (rows: number) => void,
): AsyncGenerator<SheetRow> {
  const shared = await sharedStrings(key, wb.entries, etag);
  const formats = await cellFormats(key, wb.entries, etag);
  let line = 0;
  let cells: string[] = [];
  let col = -1;
  let type = "";
  let style = 0;
  let value = "";
  let inValue = false;
  for await (const ev of xmlEvents(key, wb.entries.get(wb.sheetPath)!, etag)) {
    const n = local(ev.name);
    if (ev.type === "open") {
      if (n === "row") {
        line = ev.attrs?.r ? Number(ev.attrs.r) : line + 1;
        cells = [];
        col = -1;
      } else if (n === "c") {
        col = ev.attrs?.r ? columnOf(ev.attrs.r) : col + 1;
        type = ev.attrs?.t ?? "n";
        style = Number(ev.attrs?.s ?? 0);
        value = "";
      } else if (n === "v" || n === "t") inValue = true;
      else if (n === "dimension" && ev.attrs?.ref) {
        const last = /(\d+)$/.exec(ev.attrs.ref);
        if (last) onDimension?.(Number(last[1]));
      }
    } else if (ev.type === "close") {
      if (n === "v" || n === "t") inValue = false;
      else if (n === "c") {
        const kind = type === "n" && value !== "" ? formats.dateStyles.get(style) : undefined;
        const text = cellText(type, value, shared, kind, formats.date1904);
        if (col >= 0 && col < 1000) cells[col] = text;
      } else if (n === "row") {
        const filled = Array.from(cells, (c) => c ?? "");
        if (line >= from && filled.some((c) => c.trim() !== "")) yield { line, cells: filled };
      }
    } else if (inValue) value += ev.text;
  }
}
