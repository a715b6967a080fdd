// Import job helpers for integration tests: a file put into the uploads bucket and its job created as the upload's S3
// event would, the jobs worker handler called with hand-made SQS events and a fake Lambda context, a GBK encoder
// (what Excel saves on Chinese Windows) and a minimal XLSX writer with text and number cells.
import { strToU8, zipSync } from "fflate";
import { expect } from "vitest";
import { jobsWorker } from "../../functions/workers/jobs-worker.ts";
import type { Caller } from "../../shared/auth/claims.ts";
import type { ImportParams } from "../../shared/domain/imports/schemas.ts";
import { createListedJob } from "../../shared/domain/imports/service.ts";
import { putObject } from "../../shared/domain/imports/storage.ts";
import { getJobItem } from "../../shared/domain/jobs/repository.ts";
import type { JobMessage } from "../../shared/domain/jobs/schemas.ts";

let seq = 0;
import { fakeContext, sqsEvent } from "./job-events.ts";
export { fakeContext, PLENTY, sqsEvent } from "./job-events.ts";

export type ImportOptions = Partial<Pick<ImportParams, "entity" | "mode" | "matchOn" | "dryRun" | "mapping" | "sheet">>;

/** Puts `body` into the uploads bucket (under a prefix no notification watches) and creates its import job. */
export async function anImport(caller: Caller, body: string | Buffer, opts: ImportOptions = {}) {
  const key = `it-files/${caller.tenant}/${++seq}-${Date.now()}.csv`;
  await putObject(key, body, "text/csv");
  const params: ImportParams = {
    entity: opts.entity ?? "customers",
    mode: opts.mode ?? "upsert",
    matchOn: opts.matchOn ?? "code",
    dryRun: opts.dryRun ?? false,
    ...(opts.mapping ? { mapping: opts.mapping } : {}),
    ...(opts.sheet ? { sheet: opts.sheet } : {}),
    key,
    etag: "",
    source: "upload",
  };
  const job = await createListedJob(caller, "import", params, "req-it");
  const continuations: JobMessage[] = [];
  const handler = jobsWorker({ continueJob: async (m) => void continuations.push(m) });
  return { jobId: job.id, message: { jobId: job.id, tenant: caller.tenant }, continuations, handler };
}

/** Runs an import to its end in one invocation and resolves the stored job. */
export async function runToEnd(caller: Caller, body: string | Buffer, opts: ImportOptions = {}) {
  const imp = await anImport(caller, body, opts);
  expect(await imp.handler(sqsEvent(imp.message), fakeContext())).toEqual({ batchItemFailures: [] });
  return { ...imp, job: (await getJobItem(caller.tenant, imp.jobId))! };
}

let gbkTable: Map<string, Buffer> | undefined;

/** `text` encoded as GBK (ASCII as is), from a table built by decoding every 2-byte GBK sequence. */
export function toGbk(text: string): Buffer {
  if (!gbkTable) {
    gbkTable = new Map();
    const dec = new TextDecoder("gbk");
    for (let a = 0x81; a <= 0xfe; a++) {
      for (let b = 0x40; b <= 0xfe; b++) {
        if (b === 0x7f) continue;
        const ch = dec.decode(Uint8Array.of(a, b));
        if (ch.length === 1 && ch !== "\ufffd" && !gbkTable.has(ch)) gbkTable.set(ch, Buffer.from([a, b]));
      }
    }
  }
  return Buffer.concat(
    [...text].map((ch) => {
      if (ch.charCodeAt(0) < 0x80) return Buffer.from(ch, "latin1");
      const bytes = gbkTable!.get(ch);
      if (!bytes) throw new Error(`no GBK encoding for ${ch}`);
      return bytes;
    }),
  );
}

const escapeXml = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");

const col = (c: number) => (c < 26 ? String.fromCharCode(65 + c) : `A${String.fromCharCode(65 + c - 26)}`);

/** A number cell in a number format: a built-in format id (14 is a date) or a custom format code. */
export interface StyledNumber {
  n: number;
  numFmt: number | string;
}

/**
 * A workbook of one sheet: string cells as shared strings, numbers as numeric cells, styled numbers (dates) as
 * numbers in a cell style of their format (as Excel stores them); `date1904` for the 1904 date system.
 */
export function aSheet(
  name: string,
  rows: (string | number | StyledNumber)[][],
  opts: { date1904?: boolean } = {},
): Buffer {
  const shared: string[] = [];
  const formats: (number | string)[] = []; // cell style i + 1 uses formats[i]
  const customIds = new Map<string, number>();
  const styleOf = (f: number | string) => {
    if (typeof f === "string" && !customIds.has(f)) customIds.set(f, 164 + customIds.size);
    if (!formats.includes(f)) formats.push(f);
    return formats.indexOf(f) + 1;
  };
  const xmlRows = rows.map((cells, r) => {
    const cs = cells
      .map((v, c) => {
        const ref = `${col(c)}${r + 1}`;
        if (typeof v === "number") return `<c r="${ref}"><v>${v}</v></c>`;
        if (typeof v === "object") return `<c r="${ref}" s="${styleOf(v.numFmt)}"><v>${v.n}</v></c>`;
        if (v === "") return "";
        shared.push(v);
        return `<c r="${ref}" t="s"><v>${shared.length - 1}</v></c>`;
      })
      .join("");
    return `<row r="${r + 1}">${cs}</row>`;
  });
  const width = Math.max(...rows.map((r) => r.length));
  return Buffer.from(
    zipSync({
      "[Content_Types].xml": strToU8(
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
      ),
      "xl/workbook.xml": strToU8(
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' +
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">' +
          `${opts.date1904 ? '<workbookPr date1904="1"/>' : ""}` +
          `<sheets><sheet name="${name}" sheetId="1" r:id="rId1"/></sheets></workbook>`,
      ),
      "xl/_rels/workbook.xml.rels": strToU8(
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
          '<Relationship Id="rId1" Type="worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
      ),
      "xl/worksheets/sheet1.xml": strToU8(
        `<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
          `<dimension ref="A1:${col(width - 1)}${rows.length}"/><sheetData>${xmlRows.join("")}</sheetData></worksheet>`,
      ),
      "xl/styles.xml": strToU8(
        '<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' +
          `<numFmts count="${customIds.size}">` +
          [...customIds].map(([code, id]) => `<numFmt numFmtId="${id}" formatCode="${escapeXml(code)}"/>`).join("") +
          `</numFmts><cellXfs count="${formats.length + 1}"><xf numFmtId="0"/>` +
          formats
            .map((f) => `<xf numFmtId="${typeof f === "number" ? f : customIds.get(f)}" applyNumberFormat="1"/>`)
            .join("") +
          "</cellXfs></styleSheet>",
      ),
      "xl/sharedStrings.xml": strToU8(
        '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' +
          shared.map((t) => `<si><t>${t}</t></si>`).join("") +
          "</sst>",
      ),
    }),
  );
}
