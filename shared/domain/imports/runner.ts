// The jobs worker's runner for "import" jobs: streams the uploaded file from its checkpoint (a byte offset, read with
// an S3 Range request), imports it in chunks and stores each chunk's outcomes together with the next offset, writes
// the rows that failed to an error report, and continues in a new message before the Lambda's time runs out.
// A bad file fails the job with a reason a user can act on.
import { registerTenant } from "../tenants/registry.ts";
import { Readable } from "node:stream";
import { JobFailedError, type JobRun, type JobRunner } from "../jobs/runner.ts";
import { MAX_JOB_ERRORS, type JobError } from "../jobs/schemas.ts";
import { resolveViewer } from "../org/viewer.ts";
import type { Role } from "../../auth/claims.ts";
import { saveChunk } from "./repository.ts";
import { COLUMNS_BY_ENTITY, headerIndex, mapColumns, MAX_TITLE_ROWS, REQUIRED_COLUMNS, rowObject } from "./columns.ts";
import { type ContactRow, importContactChunk, validateContactRow } from "./contact-import.ts";
import {
  BadFileError,
  csvLine,
  decoderFor,
  delimiterOf,
  type Encoding,
  encodingOfRow,
  parseCsv,
  type RawRow,
  sniff,
  UTF8_BOM,
} from "./csv.ts";
import { centralDirectory, openWorkbook, type SheetRow, sheetRows } from "./xlsx.ts";
import { type ChunkContext, type ImportRow, importCustomerChunk, validateCustomerRow } from "./customer-import.ts";
import { importOrderChunk, keptOrderRows, type OrderRow, validateOrderRow } from "./order-import.ts";
import { reclassifyWritten } from "./reclassify.ts";
import { type ImportParams, ImportParamsSchema, type ImportState } from "./schemas.ts";
import { headObject, joinParts, objectKeys, putObject, readHead, readRange, deleteObject } from "./storage.ts";

/** Rows per chunk: one checkpoint (one write of the job) per chunk. */
export const CHUNK_ROWS = 200;
const SNIFF_BYTES = 64 * 1024;

/** The caller an import runs as (its creator, with the roles and department the job recorded). */
export function jobCaller(run: Pick<JobRun, "tenant" | "job">) {
  const p = run.job.params as { caller?: { roles?: Role[]; dept?: string } };
  return {
    tenant: run.tenant,
    userId: run.job.createdBy,
    roles: p.caller?.roles ?? ["viewer" as Role],
    dept: p.caller?.dept,
  };
}

const quoted = (etag: string | undefined) => (etag ? (etag.startsWith('"') ? etag : `"${etag}"`) : undefined);

function isStaleRead(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === "PreconditionFailed" || e?.$metadata?.httpStatusCode === 412;
}

export const runImport: JobRunner = async (run) => {
  const params = ImportParamsSchema.parse(run.job.params);
  // A tenant that only ever imports still gets its nightly jobs (classification refresh, dormancy).
  await registerTenant(run.tenant);
  try {
    return await runImportFile(run, params);
  } catch (err) {
    if (err instanceof BadFileError) throw new JobFailedError(err.message);
    if (isStaleRead(err)) {
      throw new JobFailedError("the file was replaced while it was being imported; upload it again as a new import");
    }
    throw err;
  }
};

/** Reads the header and decides encoding and columns; the first run's state. */
async function openFile(params: ImportParams): Promise<ImportState> {
  const info = await headObject(params.key);
  if (!info) throw new BadFileError("the uploaded file is no longer there");
  const head = info.size ? await readHead(params.key, SNIFF_BYTES, quoted(params.etag)) : Buffer.alloc(0);
  const sniffed = sniff(head, info.size);
  if (sniffed.format === "xlsx") return openXlsx(params, info.size);
  const delimiter = delimiterOf(head, sniffed.start, MAX_TITLE_ROWS + 1);
  const body = await readRange(params.key, sniffed.start, undefined, quoted(params.etag));
  const top: RawRow[] = [];
  try {
    for await (const row of parseCsv(body, sniffed.start, 1, undefined, delimiter)) {
      top.push(row);
      if (top.length > MAX_TITLE_ROWS) break;
    }
  } finally {
    body.destroy();
  }
  if (!top.length) throw new BadFileError("the file is empty");
  const decode = decoderFor(sniffed.encoding);
  // Title rows above the header (a report name, an export date) are skipped.
  const texts = top.map((r) => r.fields.map((f) => decode(f) ?? ""));
  const first = top[headerIndex(texts, COLUMNS_BY_ENTITY[params.entity], params.mapping)]!;
  const header = first.fields.map((f) => decode(f));
  if (header.some((h) => h === undefined)) {
    throw new BadFileError(`the header row is not valid ${sniffed.encoding === "utf-8" ? "UTF-8" : "GBK"} text`);
  }
  const map = mapColumns(
    header as string[],
    COLUMNS_BY_ENTITY[params.entity],
    params.mapping,
    REQUIRED_COLUMNS[params.entity],
  );
  // A head of plain ASCII says nothing about the rest: an export with English names first and Chinese ones later.
  const asciiHead = sniffed.start === 0 && info.size > head.length && !head.some((b) => b >= 0x80);
  return {
    format: "csv",
    encoding: sniffed.encoding,
    ...(asciiHead ? { encodingOpen: true } : {}),
    ...(delimiter !== "," ? { delimiter } : {}),
    size: info.size,
    offset: first.end,
    line: first.line + 1,
    fields: map.fields,
    header: header as string[],
    headerLine: first.line,
    ignoredColumns: map.ignored,
    errorParts: [],
    chunk: 0,
  };
}

/** The first run of an XLSX import: the sheet to read and its header row. */
async function openXlsx(params: ImportParams, size: number): Promise<ImportState> {
  const wb = await openWorkbook(params.key, size, params.sheet, quoted(params.etag));
  const top: SheetRow[] = [];
  for await (const row of sheetRows(params.key, wb, 1, quoted(params.etag))) {
    top.push(row);
    if (top.length > MAX_TITLE_ROWS) break;
  }
  if (!top.length) throw new BadFileError(`the sheet "${wb.sheetName}" is empty`);
  // Title rows above the header (a merged report name, an export date) are skipped.
  const first =
    top[
      headerIndex(
        top.map((r) => r.cells),
        COLUMNS_BY_ENTITY[params.entity],
        params.mapping,
      )
    ]!;
  const map = mapColumns(
    first.cells,
    COLUMNS_BY_ENTITY[params.entity],
    params.mapping,
    REQUIRED_COLUMNS[params.entity],
  );
  return {
    format: "xlsx",
    encoding: "utf-8",
    size,
    offset: 0,
    line: first.line + 1,
    sheetPath: wb.sheetPath,
    sheetName: wb.sheetName,
    fields: map.fields,
    header: first.cells,
    headerLine: first.line,
    ignoredColumns: map.ignored,
    errorParts: [],
    chunk: 0,
  };
}

/** A data row, whatever the format: cells as text (undefined: not valid in the file's encoding). */
interface SourceRow {
  line: number;
  cells: (string | undefined)[];
  /** CSV: byte offset after the row (where the next chunk starts). */
  end?: number;
}

/**
 * The rows from the checkpoint on: a ranged read of the CSV, or the sheet streamed again from its top. While the
 * CSV's encoding is open, the first row that decides it is reported to `settle` and decodes every row after it.
 */
async function* rowsFrom(
  params: ImportParams,
  state: ImportState,
  hint: (rows: number) => void,
  settle: (encoding: Encoding) => void,
) {
  const etag = quoted(params.etag);
  if (state.format === "xlsx") {
    const entries = await centralDirectory(params.key, state.size, etag);
    const wb = { entries, sheetPath: state.sheetPath!, sheetName: state.sheetName ?? "" };
    for await (const r of sheetRows(params.key, wb, state.line, etag, hint)) yield r as SourceRow;
    return;
  }
  // Nothing left to read (a header-only file, or a crash after the last chunk): S3 refuses an empty range.
  if (state.offset >= state.size) return;
  let decode = decoderFor(state.encoding);
  let open = state.encodingOpen === true;
  const body: Readable = await readRange(params.key, state.offset, undefined, etag);
  try {
    for await (const r of parseCsv(body, state.offset, state.line, undefined, state.delimiter)) {
      const decided = open ? encodingOfRow(r.fields) : undefined;
      if (decided) {
        open = false;
        decode = decoderFor(decided);
        settle(decided);
      }
      yield { line: r.line, cells: r.fields.map((f) => decode(f)), end: r.end } satisfies SourceRow;
    }
  } finally {
    body.destroy();
  }
}

async function runImportFile(run: JobRun, params: ImportParams): Promise<"done" | "paused"> {
  const tenant = run.tenant;
  const jobId = run.job.id;
  const owner = run.job.leaseOwner!;
  let state = (run.job as { state?: ImportState }).state;
  let processed = run.job.processed ?? 0;
  const counts: Record<string, number> = { inserted: 0, updated: 0, skipped: 0, failed: 0, ...run.job.counts };
  const errors: JobError[] = [...(run.job.errors ?? [])];
  const save = async (s: ImportState, percent: number) => {
    const total = s.done ? processed : estimateTotal(processed, s);
    await saveChunk(tenant, jobId, owner, { state: s, processed, total, percent, counts, errors });
    run.setProgress?.({ processed, counts, total });
  };

  if (!state) {
    state = await openFile(params);
    await save(state, 0);
  }
  if (!state.done) {
    const caller = jobCaller(run);
    const ctx: ChunkContext = {
      tenant,
      jobId,
      jobCreatedMs: Date.parse(run.job.createdAt),
      entity: params.entity,
      viewer: await resolveViewer(caller),
      caller,
      mode: params.mode,
      matchOn: params.matchOn,
      dryRun: params.dryRun,
      owners: new Map(),
      heads: new Map(),
    };
    let sheetRowsHint: number | undefined;
    let batch: SourceRow[] = [];
    const percentNow = (st: ImportState) =>
      st.format === "csv"
        ? Math.min(99, Math.floor((st.offset * 100) / Math.max(1, st.size)))
        : sheetRowsHint
          ? Math.min(99, Math.floor((Math.max(0, st.line - 2) * 100) / sheetRowsHint))
          : 0;
    // The encoding the first non-ASCII row decided (an open encoding); the chunk holding that row records it.
    let settled: Encoding | undefined;
    const flush = async (keep = 0) => {
      const rows = batch.slice(0, batch.length - keep);
      batch = batch.slice(batch.length - keep);
      if (settled) {
        state = { ...state!, encoding: settled };
        delete state.encodingOpen;
        settled = undefined;
      }
      state = await importChunk(ctx, state!, rows, { counts, errors });
      processed += rows.length;
      if (sheetRowsHint) state.rowsHint = sheetRowsHint;
      await save(state, percentNow(state));
    };
    const rows = rowsFrom(
      params,
      state,
      (n) => (sheetRowsHint = Math.max(0, n - 1)),
      (encoding) => (settled = encoding),
    );
    for await (const row of rows) {
      batch.push(row);
      if (batch.length < CHUNK_ROWS) continue;
      // Orders: the last order's rows wait for the next chunk, so an order is never split across chunks.
      const keep = params.entity === "orders" ? keptOrderRows(batch, state.fields.indexOf("orderNo")) : 0;
      if (keep >= batch.length) continue;
      await flush(keep);
      if (run.timeIsShort()) return "paused";
    }
    if (batch.length) await flush();
    if (processed === 0) throw new BadFileError("the file has a header row but no data rows");
    state = { ...state, done: true };
    if (state.errorParts.length) {
      const reportKey = objectKeys.errorReport(tenant, jobId);
      await joinParts(
        state.errorParts.map((n) => objectKeys.errorPart(tenant, jobId, n)),
        reportKey,
        "text/csv; charset=utf-8",
        UTF8_BOM + csvLine(["行号(row)", "列(column)", "错误(error)", ...state.header]),
      );
      state.reportKey = reportKey;
    }
    await save(state, 99);
    // The parts are only removed once the report is recorded: a crash before that joins them again.
    await Promise.all(
      state.errorParts.map((n) => deleteObject(objectKeys.errorPart(tenant, jobId, n)).catch(() => undefined)),
    );
  }
  return "done";
}

/** Rows expected in all, extrapolated from the bytes read so far (the exact number is known at the end). */
function estimateTotal(processed: number, s: ImportState): number {
  if (s.format === "xlsx") return Math.max(processed, s.rowsHint ?? processed);
  if (s.offset >= s.size) return processed;
  const done = Math.max(1, s.offset);
  return Math.max(processed, Math.round((processed * s.size) / done));
}

/** Imports one chunk and writes its failed rows as an error-report part; resolves the state after the chunk. */
async function importChunk(
  ctx: ChunkContext,
  state: ImportState,
  raw: SourceRow[],
  acc: { counts: Record<string, number>; errors: JobError[] },
): Promise<ImportState> {
  const label = (field: string) => {
    const i = state.fields.indexOf(field);
    return i >= 0 ? (state.header[i] ?? field) : field;
  };
  const columns = COLUMNS_BY_ENTITY[ctx.entity];
  const rows: (ImportRow & ContactRow & OrderRow)[] = raw.map((r) => {
    const cells = r.cells;
    const text = cells.map((c) => c ?? "");
    const bad = cells.findIndex((c) => c === undefined);
    if (bad >= 0) {
      const enc = state.encoding === "utf-8" ? "UTF-8" : "GBK";
      return {
        line: r.line,
        cells: text,
        error: { column: state.header[bad] ?? "", message: `not valid ${enc} text` },
      };
    }
    if (cells.length > state.header.length) {
      return {
        line: r.line,
        cells: text,
        error: { column: "", message: `${cells.length} cells but the header has ${state.header.length} columns` },
      };
    }
    const obj = rowObject(text, { fields: state.fields, ignored: [] }, columns);
    const checked =
      ctx.entity === "orders"
        ? validateOrderRow(obj, label)
        : ctx.entity === "contacts"
          ? validateContactRow(obj, label)
          : validateCustomerRow(obj, label);
    return { line: r.line, cells: text, ...checked } as ImportRow & ContactRow & OrderRow;
  });
  const results =
    ctx.entity === "orders"
      ? await importOrderChunk(ctx, rows, state.fields.indexOf("orderNo"))
      : ctx.entity === "contacts"
        ? await importContactChunk(ctx, rows)
        : await importCustomerChunk(ctx, rows);
  await reclassifyWritten(ctx, results);
  const failedLines: string[] = [];
  results.forEach((res, i) => {
    acc.counts[res.outcome] = (acc.counts[res.outcome] ?? 0) + 1;
    if (res.outcome !== "failed") return;
    const column = res.error?.column ? label(res.error.column) : "";
    const message = res.error?.message ?? "failed";
    if (acc.errors.length < MAX_JOB_ERRORS) {
      acc.errors.push({ id: `row ${res.line}`, message: column ? `${column}: ${message}` : message });
    }
    failedLines.push(csvLine([res.line, column, message, ...rows[i]!.cells]));
  });
  const next: ImportState = {
    ...state,
    offset: raw.at(-1)!.end ?? state.offset,
    line: raw.at(-1)!.line + 1,
    chunk: state.chunk + 1,
  };
  if (failedLines.length) {
    // Deterministic key per chunk: a chunk repeated after a crash overwrites its own part.
    await putObject(objectKeys.errorPart(ctx.tenant, ctx.jobId, state.chunk), failedLines.join(""), "text/csv");
    next.errorParts = [...state.errorParts, state.chunk];
  }
  return next;
}
