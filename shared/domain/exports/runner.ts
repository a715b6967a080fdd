// The jobs worker's runner for "export" jobs: pages the customers the job's creator may see (their data scope, as it
// is when the job runs) with the export's filters, writes each page masked as the API would show it to CSV parts
// (the customers themselves, or their contacts, or their orders one row per line), and joins the parts into one file
// at the end. Each page is checkpointed with the list cursor after it; a page repeated after a crash overwrites its
// own parts, so no row is lost or written twice.
import type { Condition } from "../customers/filters.ts";
import { conditionsOf } from "../customers/filters.ts";
import { type CustomerItem, listAll, listByDepartment, listByOwner } from "../customers/repository.ts";
import type { CustomerListQuery } from "../customers/schemas.ts";
import { present } from "../customers/service.ts";
import type { JobRunner } from "../jobs/runner.ts";
import { resolveViewer, type Viewer } from "../org/viewer.ts";
import { queryContacts } from "../contacts/repository.ts";
import {
  CONTACT_COLUMNS,
  CUSTOMER_COLUMNS,
  type ImportEntity,
  ORDER_COLUMNS,
  SHEET_NAMES,
} from "../imports/columns.ts";
import { maskRecord } from "../org/masking.ts";
import { presentOrder } from "../orders/present.ts";
import { listOfCustomer } from "../orders/repository.ts";
import { orderFilterOf } from "../orders/service.ts";
import type { Filter } from "../../db/sharded.ts";
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

export const EXPORT_LIMITS = {
  /** Rows held before they are written as a part (a page of customers with many contacts or orders writes several). */
  partRows: 2000,
};
/** Customers whose contacts or orders are read at once. */
const CHILD_READS = 8;

const labelled = (cols: readonly { field: string; label: string }[]) =>
  cols.map((c) => ({ field: c.field, label: c.label }));

/**
 * Export columns per entity: the import template's (so an export can be edited and imported back as the same
 * entity), then read-only ones.
 */
export const EXPORT_COLUMNS: Record<ImportEntity, { field: string; label: string }[]> = {
  customers: [
    ...labelled(CUSTOMER_COLUMNS),
    { field: "id", label: "ID" },
    { field: "regionName", label: "地区名称" },
    { field: "deptPath", label: "部门" },
    { field: "createdAt", label: "创建时间" },
    { field: "updatedAt", label: "更新时间" },
  ],
  contacts: [
    ...labelled(CONTACT_COLUMNS),
    { field: "customerName", label: "客户名称" },
    { field: "id", label: "ID" },
    { field: "createdAt", label: "创建时间" },
    { field: "updatedAt", label: "更新时间" },
  ],
  orders: [
    ...labelled(ORDER_COLUMNS),
    { field: "id", label: "订单ID" },
    { field: "paymentStatus", label: "收款状态" },
    { field: "returnedQuantity", label: "退货数量" },
  ],
};
export const exportHeader = (entity: ImportEntity = "customers") =>
  EXPORT_COLUMNS[entity].map((c) => `${c.label}(${c.field})`);

/** A page of one customer's export rows, and where its next page starts (undefined: the customer is done). */
interface RowPage {
  rows: Record<string, unknown>[];
  next?: Record<string, unknown>;
}

/**
 * A page of the export rows of one customer (as `present` shows it to the viewer): itself, a page of its contacts
 * (masked alike), or one row per line of a page of its orders, newest order first.
 */
async function rowPage(
  entity: ImportEntity,
  tenant: string,
  item: CustomerItem,
  c: Record<string, unknown>,
  v: Viewer,
  orderFilter: Filter | undefined,
  start: Record<string, unknown> | undefined,
): Promise<RowPage> {
  if (entity === "customers") return { rows: [c] };
  const customer = { customerCode: c.code, customerName: c.name, uscc: c.uscc };
  if (entity === "contacts") {
    const page = await queryContacts(tenant, item.id, 200, start);
    return {
      rows: page.items.map((ct) => ({ ...maskRecord(ct, v.perms.viewSensitive), ...customer })),
      next: page.state,
    };
  }
  const page = await listOfCustomer(tenant, item.id, orderFilter, 200, start);
  const rows = page.items.flatMap((record) => {
    const o = presentOrder(record) as ReturnType<typeof presentOrder> & Record<string, unknown>;
    return o.lines.map((l) => ({
      ...customer,
      orderNo: o.code,
      orderDate: o.createdAt,
      status: o.status,
      note: o.note,
      id: o.id,
      paymentStatus: o.paymentStatus,
      sku: l.sku,
      product: l.name,
      quantity: l.quantity,
      unitPrice: l.unitPrice,
      amount: l.amount,
      returnedQuantity: l.returnedQuantity,
    }));
  });
  return { rows, next: page.state as Record<string, unknown> | undefined };
}

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
  const params = run.job.params as {
    entity?: ImportEntity;
    filter?: unknown;
    orderFilter?: Parameters<typeof orderFilterOf>[0];
    format?: string;
  };
  const format = params.format === "xlsx" ? "xlsx" : "csv";
  const entity: ImportEntity = params.entity && params.entity in EXPORT_COLUMNS ? params.entity : "customers";
  const columns = EXPORT_COLUMNS[entity];
  const orderFilter = params.orderFilter ? orderFilterOf(params.orderFilter) : undefined;
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
    // Rows are numbered from the count before this page and parts from the parts before it, which a repeated page
    // reads from the same checkpoint.
    let parts = state.parts;
    let held: string[] = [];
    const flush = async () => {
      if (!held.length) return;
      await putObject(objectKeys.exportPart(tenant, jobId, parts), held.join(""), "text/csv");
      parts++;
      held = [];
    };
    const emit = async (rows: Record<string, unknown>[]) => {
      for (const row of rows) {
        const cells = columns.map((col) => row[col.field]);
        held.push(format === "xlsx" ? sheetRowXml(processed + 2, cells) : csvLine(cells));
        processed++;
        if (held.length >= EXPORT_LIMITS.partRows) await flush();
      }
    };
    // The first page of CHILD_READS customers at once (most customers' contacts or orders fit in one); a customer
    // with more goes on page by page, so memory holds a page per customer of the group and one part, whatever
    // the customer.
    for (let i = 0; i < res.items.length; i += CHILD_READS) {
      const group = res.items.slice(i, i + CHILD_READS).map((item) => ({
        item,
        c: present(item, v) as Record<string, unknown>,
      }));
      const read = (g: (typeof group)[number], start?: Record<string, unknown>) =>
        rowPage(entity, tenant, g.item, g.c, v, orderFilter, start);
      const firsts = await Promise.all(group.map((g) => read(g)));
      for (const [n, g] of group.entries()) {
        let page: RowPage = firsts[n]!;
        await emit(page.rows);
        while (page.next) {
          page = await read(g, page.next);
          await emit(page.rows);
        }
      }
    }
    await flush();
    state = { ...state, parts, cursor: res.state ?? null, done: !res.state };
    await save(0);
  }
  if (!state.fileKey) {
    const fileKey = objectKeys.exportFile(tenant, jobId, format);
    const parts = Array.from({ length: state.parts }, (_, n) => objectKeys.exportPart(tenant, jobId, n));
    if (format === "xlsx") await writeXlsx(fileKey, exportHeader(entity), parts, SHEET_NAMES[entity]);
    else await joinParts(parts, fileKey, "text/csv; charset=utf-8", UTF8_BOM + csvLine(exportHeader(entity)));
    state = { ...state, fileKey };
    await save(99);
    await Promise.all(parts.map((k) => deleteObject(k).catch(() => undefined)));
  }
  return "done";
};
