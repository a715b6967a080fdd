// Writes an export as XLSX: rows become sheet XML fragments (inline strings, so no cell is ever a formula), written
// per page like CSV parts, and the workbook is zipped at the end with the sheet streamed through a deflater
// (fflate), part after part. Memory holds the compressed workbook, not the rows.
import { strToU8, Zip, ZipDeflate } from "fflate";
import { putObject, readRange } from "../imports/storage.ts";

const MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/** Characters XML 1.0 cannot hold (C0 controls but tab, LF, CR; U+FFFE, U+FFFF). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point: XML cannot carry them
const XML_INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

/** XML text: escaped, without the control characters XML 1.0 cannot hold. */
export function xmlText(value: unknown): string {
  if (value === undefined || value === null) return "";
  const s = Array.isArray(value) ? value.join(",") : String(value);
  return s
    .replace(XML_INVALID, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

const column = (i: number): string =>
  (i < 26 ? "" : column(Math.floor(i / 26) - 1)) + String.fromCharCode(65 + (i % 26));

/** One sheet row (1-based `line`) of inline-string cells; empty cells are left out. */
export function sheetRowXml(line: number, cells: readonly unknown[]): string {
  const cs = cells
    .map((v, i) => {
      const t = xmlText(v);
      return t === "" ? "" : `<c r="${column(i)}${line}" t="inlineStr"><is><t xml:space="preserve">${t}</t></is></c>`;
    })
    .join("");
  return `<row r="${line}">${cs}</row>`;
}

const STATIC: Record<string, string> = {
  "[Content_Types].xml":
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
    '<Default Extension="xml" ContentType="application/xml"/>' +
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' +
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' +
    "</Types>",
  "_rels/.rels":
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>' +
    "</Relationships>",
  "xl/_rels/workbook.xml.rels":
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>' +
    "</Relationships>",
};

/** The content type of an XLSX workbook. */
export const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/**
 * A workbook of one sheet named `sheetName`: the header row, then `rows` (sheet row XML, see {@link sheetRowXml}),
 * deflated as a stream as they come.
 */
export async function zipWorkbook(
  header: readonly string[],
  sheetName: string,
  rows: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = [],
): Promise<Buffer> {
  const out: Uint8Array[] = [];
  let done!: () => void;
  let failed!: (e: Error) => void;
  const finished = new Promise<void>((res, rej) => ((done = res), (failed = rej)));
  const zip = new Zip((err, data, final) => {
    if (err) return failed(err);
    out.push(data);
    if (final) done();
  });
  const workbook =
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="${MAIN}" xmlns:r="${REL}">` +
    `<sheets><sheet name="${xmlText(sheetName)}" sheetId="1" r:id="rId1"/></sheets></workbook>`;
  for (const [name, xml] of Object.entries({ ...STATIC, "xl/workbook.xml": workbook })) {
    const f = new ZipDeflate(name, { level: 6 });
    zip.add(f);
    f.push(strToU8(xml), true);
  }
  const sheet = new ZipDeflate("xl/worksheets/sheet1.xml", { level: 6 });
  zip.add(sheet);
  sheet.push(strToU8(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="${MAIN}"><sheetData>`));
  sheet.push(strToU8(sheetRowXml(1, header)));
  for await (const c of rows) sheet.push(c);
  sheet.push(strToU8("</sheetData></worksheet>"), true);
  zip.end();
  await finished;
  return Buffer.concat(out);
}

/** The row parts (in order) as one stream of sheet row XML. */
async function* partsOf(partKeys: readonly string[]): AsyncGenerator<Uint8Array> {
  for (const key of partKeys) for await (const c of await readRange(key, 0)) yield c as Uint8Array;
}

/** Zips the header and the row parts (in order) into one workbook at `target`, on a sheet named `sheetName`. */
export async function writeXlsx(
  target: string,
  header: readonly string[],
  partKeys: readonly string[],
  sheetName = "客户",
): Promise<void> {
  await putObject(target, await zipWorkbook(header, sheetName, partsOf(partKeys)), XLSX_TYPE);
}
