// The jobs worker's runner for "export" jobs: pages the customers the job's creator may see (their data scope, as it
// is when the job runs) with the export's filters, writes each page masked as the API would show it to a CSV part,
// and joins the parts into one file at the end. Each page is checkpointed with the list cursor after it; a page
// repeated after a crash overwrites its own part, so no row is lost or written twice.
import type { Condition } from "../customers/filters.ts";
import { conditionsOf } from "../customers/filters.ts";
import { type CustomerItem, listAll, listByDepartment, listByOwner } from "../customers/repository.ts";
import type { CustomerListQuery } from "../customers/schemas.ts";
import { present } from "../customers/service.ts";
import type { JobRunner } from "../jobs/runner.ts";
import { resolveViewer, type Viewer } from "../org/viewer.ts";
import { CUSTOMER_COLUMNS } from "../imports/columns.ts";
import { csvLine, UTF8_BOM } from "../imports/csv.ts";
import { saveChunk } from "../imports/repository.ts";
import { jobCaller } from "../imports/runner.ts";
import { ExportFilterSchema } from "../imports/schemas.ts";
import { joinParts, objectKeys, putObject, deleteObject } from "../imports/storage.ts";
import { sheetRowXml, writeXlsx } from "./xlsx-write.ts";

/** Customers per page (one part file and one checkpoint each). */
export const EXPORT_PAGE = 200;

export interface ExportState {
  cursor?: unknown;
  parts: number;
  done?: boolean;
  fileKey?: string;
}

/** Export columns: the import template's (so an export can be edited and imported back), then read-only ones. */
const EXTRA = [
  { field: "id", label: "ID" },
  { field: "regionName", label: "地区名称" },
  { field: "deptPath", label: "部门" },
  { field: "createdAt", label: "创建时间" },
  { field: "updatedAt", label: "更新时间" },
];
export const EXPORT_COLUMNS = [...CUSTOMER_COLUMNS.map((c) => ({ field: c.field, label: c.label })), ...EXTRA];
export const exportHeader = () => EXPORT_COLUMNS.map((c) => `${c.label}(${c.field})`);

/** One page of the customers a viewer may see, with an export's filters (the viewer's scope picks the index). */
export async function customerPage(v: Viewer, filter: CustomerListQuery, cursor: unknown) {
  const conds = (ownerIsKey: boolean): Condition[] => conditionsOf(filter, ownerIsKey);
  if (v.scope === "own") {
    if (filter.owner && filter.owner !== v.userId) return { items: [] as CustomerItem[], state: undefined };
    return listByOwner(v.tenant, v.userId, conds(true), EXPORT_PAGE, cursor as Record<string, unknown> | undefined);
  }
  if (v.scope === "dept" || v.scope === "dept_tree") {
    return listByDepartment(v.tenant, v.deptPath!, v.scope === "dept_tree", conds(false), EXPORT_PAGE, cursor as never);
  }
  if (filter.owner) {
    return listByOwner(v.tenant, filter.owner, conds(true), EXPORT_PAGE, cursor as Record<string, unknown> | undefined);
  }
  return listAll(v.tenant, conds(false), EXPORT_PAGE, cursor as never, false);
}

export const runExport: JobRunner = async (run) => {
  const tenant = run.tenant;
  const jobId = run.job.id;
  const owner = run.job.leaseOwner!;
  const params = run.job.params as { filter?: unknown; format?: string };
  const format = params.format === "xlsx" ? "xlsx" : "csv";
  const filter = ExportFilterSchema.parse(params.filter ?? {}) as CustomerListQuery;
  const v = await resolveViewer(jobCaller(run));
  let state: ExportState = (run.job as { state?: ExportState }).state ?? { parts: 0 };
  let processed = run.job.processed ?? 0;
  const save = async (percent: number) => {
    const counts = { exported: processed };
    await saveChunk(tenant, jobId, owner, { state, processed, total: processed, percent, counts, errors: [] });
    run.setProgress?.({ processed, counts, total: processed });
  };
  let first = true;
  while (!state.done) {
    if (!first && run.timeIsShort()) return "paused";
    first = false;
    const res = await customerPage(v, filter, state.cursor);
    if (res.items.length) {
      // Rows are numbered from the count before this page, which a repeated page reads from the same checkpoint.
      const body = res.items
        .map((i, n) => {
          const c = present(i, v) as Record<string, unknown>;
          const cells = EXPORT_COLUMNS.map((col) => c[col.field]);
          return format === "xlsx" ? sheetRowXml(processed + n + 2, cells) : csvLine(cells);
        })
        .join("");
      await putObject(objectKeys.exportPart(tenant, jobId, state.parts), body, "text/csv");
      processed += res.items.length;
      state = { ...state, parts: state.parts + 1 };
    }
    state = { ...state, cursor: res.state ?? null, done: !res.state };
    await save(0);
  }
  if (!state.fileKey) {
    const fileKey = objectKeys.exportFile(tenant, jobId, format);
    const parts = Array.from({ length: state.parts }, (_, n) => objectKeys.exportPart(tenant, jobId, n));
    if (format === "xlsx") await writeXlsx(fileKey, exportHeader(), parts);
    else await joinParts(parts, fileKey, "text/csv; charset=utf-8", UTF8_BOM + csvLine(exportHeader()));
    state = { ...state, fileKey };
    await save(99);
    await Promise.all(parts.map((k) => deleteObject(k).catch(() => undefined)));
  }
  return "done";
};
