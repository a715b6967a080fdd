// CSV at the byte level: a streaming parser that reports each row's end as a byte offset (so an import resumes from
// an exact position with an S3 Range read), encoding detection (UTF-8 with or without BOM, GB18030/GBK), and a
// writer that neutralises spreadsheet formula injection.
//
// Why bytes and not text: the delimiters (`,` `"` CR LF) are ASCII, and neither UTF-8 nor GBK/GB18030 ever uses an
// ASCII byte inside a multi-byte character (UTF-8 continuation bytes are >= 0x80, GBK trail bytes >= 0x40 and never
// 0x22/0x2C, GB18030's 4-byte forms use digits 0x30-0x39). So rows split correctly before decoding, and every
// checkpoint is a byte offset the next invocation can start reading at.

/** A file that cannot be imported as a whole; the message is safe to show as the job's failure reason. */
export class BadFileError extends Error {
  override readonly name = "BadFileError";
}

export type Encoding = "utf-8" | "gb18030";
/** The encodings a CSV may be in, in the order they are tried (valid UTF-8 is UTF-8). */
const ENCODINGS: readonly Encoding[] = ["utf-8", "gb18030"];

/** Largest cell accepted: a bigger one (a 50 MB cell, a quote never closed) fails the file instead of eating memory. */
export const MAX_CELL_BYTES = 1024 * 1024;
/** Most cells in one row. */
export const MAX_FIELDS = 1000;

export interface RawRow {
  /** Record number in the file: the header is 1, the first data row 2 (as a spreadsheet numbers them). */
  line: number;
  fields: Buffer[];
  /** Byte offset just after this row's terminator: where reading resumes. */
  end: number;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

const enum S {
  FieldStart,
  Unquoted,
  Quoted,
  QuoteInQuoted,
  AfterCr,
}

/** The cell separators a CSV file may use: comma, semicolon (Excel where the decimal mark is a comma), tab. */
export type Delimiter = "," | ";" | "\t";

/**
 * The separator of a CSV file, from its first `lines` rows (from `start`; outside quotes), so that a title row above
 * the header does not decide: the one of comma, semicolon and tab they hold most often, comma on a tie or when they
 * hold none. All three are ASCII below 0x40, so no GBK or GB18030 character contains one.
 */
export function delimiterOf(head: Buffer, start = 0, lines = 1): Delimiter {
  const counts = { ",": 0, ";": 0, "\t": 0 };
  let quoted = false;
  let seen = 0;
  for (let i = start; i < head.length; i++) {
    const b = head[i]!;
    if (b === QUOTE) quoted = !quoted;
    else if (quoted) continue;
    else if (b === LF && ++seen >= lines) break;
    else if (b === COMMA) counts[","]++;
    else if (b === 0x3b) counts[";"]++;
    else if (b === 0x09) counts["\t"]++;
  }
  const best = (Object.keys(counts) as Delimiter[]).reduce((a, b) => (counts[b] > counts[a] ? b : a), ",");
  return best;
}

/**
 * Rows of a CSV byte stream that starts at absolute offset `start` with record number `line`, cells separated by
 * `delimiter`. Blank lines are skipped (they still count as records, as in a spreadsheet). Throws BadFileError for a
 * cell larger than MAX_CELL_BYTES, a row of more than MAX_FIELDS cells, or a quoted cell still open at the end of the
 * file.
 */
export async function* parseCsv(
  source: AsyncIterable<Uint8Array>,
  start: number,
  line: number,
  maxCell = MAX_CELL_BYTES,
  delimiter: Delimiter = ",",
): AsyncGenerator<RawRow> {
  const SEP = delimiter.charCodeAt(0);
  let state: S = S.FieldStart;
  let pieces: Buffer[] = [];
  let pieceLen = 0;
  let fields: Buffer[] = [];
  let rowLine = line;
  let quotedFrom = line;
  let base = start;
  const out: RawRow[] = [];

  const tooBig = () =>
    new BadFileError(
      state === S.Quoted
        ? `row ${rowLine}: a quoted cell opened on row ${quotedFrom} is larger than ${maxCell} bytes (a quote never closed?)`
        : `row ${rowLine}: a cell is larger than ${maxCell} bytes`,
    );
  const addPiece = (b: Buffer) => {
    if (!b.length) return;
    pieceLen += b.length;
    if (pieceLen > maxCell) throw tooBig();
    pieces.push(b);
  };
  const endField = () => {
    fields.push(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, pieceLen));
    if (fields.length > MAX_FIELDS) throw new BadFileError(`row ${rowLine}: more than ${MAX_FIELDS} cells`);
    pieces = [];
    pieceLen = 0;
  };
  const endRow = (end: number) => {
    const blank = fields.length === 1 && fields[0]!.length === 0;
    if (!blank) out.push({ line: rowLine, fields, end });
    fields = [];
    rowLine += 1;
  };

  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let seg = state === S.Unquoted || state === S.Quoted ? 0 : -1;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i]!;
      switch (state) {
        case S.AfterCr:
          if (b === LF) {
            endRow(base + i + 1);
            state = S.FieldStart;
            continue;
          }
          endRow(base + i);
          state = S.FieldStart;
          i -= 1; // this byte starts the next row: read it again
          continue;
        case S.FieldStart:
          if (b === QUOTE) {
            state = S.Quoted;
            quotedFrom = rowLine;
            seg = i + 1;
          } else if (b === SEP) {
            endField();
          } else if (b === LF) {
            endField();
            endRow(base + i + 1);
          } else if (b === CR) {
            endField();
            state = S.AfterCr;
          } else {
            state = S.Unquoted;
            seg = i;
          }
          break;
        case S.Unquoted:
          if (b === SEP || b === LF || b === CR) {
            addPiece(buf.subarray(seg, i));
            seg = -1;
            endField();
            if (b === SEP) state = S.FieldStart;
            else if (b === LF) {
              endRow(base + i + 1);
              state = S.FieldStart;
            } else state = S.AfterCr;
          }
          break;
        case S.Quoted:
          if (b === QUOTE) {
            addPiece(buf.subarray(seg, i));
            seg = -1;
            state = S.QuoteInQuoted;
          }
          break;
        case S.QuoteInQuoted:
          if (b === QUOTE) {
            // "" inside quotes: a literal quote; it starts the next piece.
            state = S.Quoted;
            seg = i;
          } else if (b === SEP) {
            endField();
            state = S.FieldStart;
          } else if (b === LF) {
            endField();
            endRow(base + i + 1);
            state = S.FieldStart;
          } else if (b === CR) {
            endField();
            state = S.AfterCr;
          } else {
            // Lenient, as spreadsheets are: text after a closing quote continues the cell.
            state = S.Unquoted;
            seg = i;
          }
          break;
      }
    }
    if (seg >= 0) addPiece(buf.subarray(seg));
    base += buf.length;
    if (out.length) yield* out.splice(0, out.length);
  }
  if (state === S.Quoted) {
    throw new BadFileError(`row ${quotedFrom}: a quoted cell is never closed (unterminated quote)`);
  }
  if (state === S.AfterCr) endRow(base);
  else if (state !== S.FieldStart || fields.length || pieces.length) {
    endField();
    endRow(base);
  }
  yield* out;
}

/** Decodes one cell; undefined when its bytes are not valid in the file's encoding. */
export function decoderFor(encoding: Encoding): (b: Buffer) => string | undefined {
  const d = new TextDecoder(encoding, { fatal: true });
  return (b) => {
    try {
      return d.decode(b);
    } catch {
      return undefined;
    }
  };
}

/** What the first bytes of a file say about it. */
export interface Sniffed {
  format: "csv" | "xlsx";
  encoding: Encoding;
  /** Where the first row starts (after a BOM). */
  start: number;
}

/**
 * Recognises the file from its first bytes (`head`, up to 64 KB; `size` is the whole file's): a ZIP (XLSX), an OLE
 * compound file (an encrypted workbook or a legacy .xls), UTF-16, binary data, or CSV in UTF-8 (BOM or not) or
 * GB18030 (which includes GBK and GB2312, what Excel saves on Chinese Windows). Throws BadFileError otherwise.
 */
export function sniff(head: Buffer, size: number): Sniffed {
  if (size === 0 || head.length === 0) throw new BadFileError("the file is empty");
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) {
    return { format: "xlsx", encoding: "utf-8", start: 0 };
  }
  if (head.subarray(0, 8).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]))) {
    throw new BadFileError(
      "the file is an OLE compound document: a password-protected workbook or a legacy .xls; remove the password " +
        "and save it as .xlsx or CSV",
    );
  }
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { format: "csv", encoding: "utf-8", start: 3 };
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)) {
    throw new BadFileError("the file is UTF-16 text; save it as CSV in UTF-8 or GBK");
  }
  if (head.includes(0)) throw new BadFileError("unknown encoding: the file holds binary data, not CSV text");
  // A sample cut at 64 KB may end inside a character: decode in streaming mode so only real errors count.
  for (const encoding of ENCODINGS) {
    try {
      new TextDecoder(encoding, { fatal: true }).decode(head, { stream: size > head.length });
      return { format: "csv", encoding, start: 0 };
    } catch {
      // try the next one
    }
  }
  throw new BadFileError("unknown encoding: the file is neither UTF-8 nor GBK/GB18030 text");
}

/**
 * The encoding a data row's cells are in, when the file's is still open: undefined while the row is plain ASCII (or
 * valid in neither), else UTF-8 if every cell is valid UTF-8, else GB18030 if every cell is valid GB18030.
 */
export function encodingOfRow(fields: Buffer[]): Encoding | undefined {
  if (!fields.some((f) => f.some((b) => b >= 0x80))) return undefined;
  for (const encoding of ENCODINGS) {
    const decode = decoderFor(encoding);
    if (fields.every((f) => decode(f) !== undefined)) return encoding;
  }
  return undefined;
}

const FORMULA_START = /^[=+\-@\t\r]/;

/** One cell as CSV: quoted when needed; a value a spreadsheet would run as a formula is prefixed with `'`. */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return "";
  let s = typeof value === "string" ? value : Array.isArray(value) ? value.join(",") : String(value);
  if (FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line (CRLF-terminated, as spreadsheets write them). */
export function csvLine(cells: readonly unknown[]): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}

/** The UTF-8 byte order mark: Excel on Chinese Windows opens a UTF-8 CSV correctly only with it. */
export const UTF8_BOM = "\ufeff";
