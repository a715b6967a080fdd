// Import columns: which headers (Chinese or English) name which field, how a cell becomes a field value, the header
// row of each entity's template, and the columns of an export.
import { BadFileError } from "./csv.ts";

export interface ColumnDef {
  field: string;
  /** The header written in templates and exports (Chinese first, as users see it). */
  label: string;
  /** Headers recognised for the field, compared after `normalizeHeader`. */
  aliases: readonly string[];
  /** Turns a trimmed, non-empty cell into the value the entity's schema parses. */
  convert?: (cell: string) => unknown;
}

const CUSTOMER_TYPES: Record<string, string> = { 企业: "enterprise", 公司: "enterprise", 个人: "individual" };
const STAGES: Record<string, string> = {
  潜在: "potential",
  意向: "intention",
  正式: "formal",
  成交: "formal",
  休眠: "dormant",
  流失: "lost",
};

const fromTable = (table: Record<string, string>) => (cell: string) => table[cell] ?? cell.toLowerCase();
/** Tags: one cell, split on commas (ASCII or full-width), semicolons, 、 or |. */
const splitList = (cell: string) =>
  cell
    .split(/[,，;；、|]/)
    .map((t) => t.trim())
    .filter(Boolean);

export const CUSTOMER_COLUMNS: readonly ColumnDef[] = [
  { field: "code", label: "客户编码", aliases: ["code", "客户编码", "编码", "客户代码", "客户编号", "customercode"] },
  { field: "name", label: "客户名称", aliases: ["name", "客户名称", "名称", "客户名", "公司名称", "customername"] },
  {
    field: "type",
    label: "客户类型",
    aliases: ["type", "客户类型", "类型", "customertype"],
    convert: fromTable(CUSTOMER_TYPES),
  },
  {
    field: "uscc",
    label: "统一社会信用代码",
    aliases: ["uscc", "统一社会信用代码", "信用代码", "社会信用代码", "税号"],
  },
  { field: "industry", label: "行业", aliases: ["industry", "行业", "所属行业"] },
  { field: "region", label: "地区编码", aliases: ["region", "地区编码", "地区", "行政区划代码", "regioncode"] },
  { field: "address", label: "地址", aliases: ["address", "地址", "详细地址", "公司地址"] },
  { field: "phone", label: "联系电话", aliases: ["phone", "联系电话", "电话", "telephone", "tel"] },
  { field: "postcode", label: "邮编", aliases: ["postcode", "邮编", "邮政编码", "zip", "zipcode"] },
  { field: "fax", label: "传真", aliases: ["fax", "传真"] },
  { field: "email", label: "邮箱", aliases: ["email", "邮箱", "电子邮件", "电子邮箱", "mail"] },
  { field: "level", label: "客户等级", aliases: ["level", "客户等级", "等级", "级别"] },
  { field: "stage", label: "阶段", aliases: ["stage", "阶段", "生命周期", "客户阶段"], convert: fromTable(STAGES) },
  { field: "ownerId", label: "负责人", aliases: ["ownerid", "owner", "负责人", "负责人id", "所有者"] },
  { field: "tags", label: "标签", aliases: ["tags", "标签"], convert: splitList },
];

const YES = new Set(["是", "y", "yes", "true", "1", "主", "√"]);

const pad = (n: string) => n.padStart(2, "0");

/**
 * A birthday cell as spreadsheets write it: `1985-05-03`, `1985/5/3`, `1985.5.3`, `1985年5月3日` become
 * `1985-05-03`; `5月3日`, `05-03`, `5/3` (no year) become `--05-03`. Anything else is passed on for the schema to
 * reject with its message.
 */
export function birthdayCell(cell: string): string {
  const full = /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$/.exec(cell);
  if (full) return `${full[1]}-${pad(full[2]!)}-${pad(full[3]!)}`;
  const short = /^(?:--)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$/.exec(cell);
  if (short) return `--${pad(short[1]!)}-${pad(short[2]!)}`;
  return cell;
}

export const CONTACT_COLUMNS: readonly ColumnDef[] = [
  {
    field: "customerCode",
    label: "客户编码",
    aliases: ["customercode", "客户编码", "客户代码", "客户编号", "code"],
  },
  { field: "name", label: "联系人", aliases: ["name", "联系人", "姓名", "联系人姓名", "contact", "contactname"] },
  { field: "title", label: "职务", aliases: ["title", "职务", "职位", "岗位"] },
  { field: "mobile", label: "手机", aliases: ["mobile", "手机", "手机号", "手机号码", "移动电话", "cellphone"] },
  { field: "phone", label: "电话", aliases: ["phone", "电话", "座机", "固定电话", "办公电话", "telephone", "tel"] },
  { field: "email", label: "邮箱", aliases: ["email", "邮箱", "电子邮件", "电子邮箱", "mail"] },
  {
    field: "birthday",
    label: "生日",
    aliases: ["birthday", "生日", "出生日期", "birthdate", "dateofbirth"],
    convert: birthdayCell,
  },
  {
    field: "isPrimary",
    label: "主联系人",
    aliases: ["isprimary", "primary", "主联系人", "是否主联系人"],
    convert: (cell) => YES.has(cell.toLowerCase()),
  },
];

/** Order statuses a file may give (Chinese or English); returns are recorded with the return action, not imported. */
const ORDER_STATUS_NAMES: Record<string, string> = {
  草稿: "draft",
  已提交: "submitted",
  待审批: "submitted",
  待审核: "submitted",
  已审批: "approved",
  已审核: "approved",
  已批准: "approved",
  已确认: "approved",
  已发货: "shipped",
  已驳回: "rejected",
  已拒绝: "rejected",
  已取消: "cancelled",
  取消: "cancelled",
};
/** "¥1,234.50", "1 234.50元" -> "1234.50" (the money schema then refuses anything not exact to 2 places). */
const money = (cell: string) => cell.replace(/^[¥￥]|元$/g, "").replace(/[,，\s]/g, "");
/** "1,000" -> 1000; what is not a whole number stays text for the schema to refuse. */
const wholeNumber = (cell: string) => {
  const t = cell.replace(/[,，\s]/g, "").replace(/\.0+$/, "");
  return /^\d{1,15}$/.test(t) ? Number(t) : cell;
};

/** One row per order line; rows with the same order number form one order (see order-import.ts). */
export const ORDER_COLUMNS: readonly ColumnDef[] = [
  { field: "orderNo", label: "订单号", aliases: ["orderno", "ordernumber", "订单号", "订单编号", "单号", "订单号码"] },
  { field: "customerCode", label: "客户编码", aliases: ["customercode", "客户编码", "客户代码", "客户编号"] },
  {
    field: "uscc",
    label: "统一社会信用代码",
    aliases: ["uscc", "统一社会信用代码", "信用代码", "社会信用代码", "税号"],
  },
  { field: "customerName", label: "客户名称", aliases: ["customername", "客户名称", "客户名", "客户"] },
  { field: "orderDate", label: "订单日期", aliases: ["orderdate", "date", "订单日期", "下单日期", "日期"] },
  {
    field: "status",
    label: "状态",
    aliases: ["status", "状态", "订单状态"],
    convert: (cell) => ORDER_STATUS_NAMES[cell] ?? cell.toLowerCase(),
  },
  {
    field: "sku",
    label: "产品编码",
    aliases: ["sku", "产品编码", "商品编码", "物料编码", "产品代码", "货号", "productcode"],
  },
  {
    field: "product",
    label: "产品名称",
    aliases: ["product", "productname", "产品", "产品名称", "商品", "商品名称", "品名"],
  },
  { field: "quantity", label: "数量", aliases: ["quantity", "qty", "数量"], convert: wholeNumber },
  { field: "unitPrice", label: "单价", aliases: ["unitprice", "price", "单价", "含税单价"], convert: money },
  { field: "amount", label: "金额", aliases: ["amount", "金额", "行金额", "小计"], convert: money },
  { field: "currency", label: "币种", aliases: ["currency", "币种", "货币"] },
  { field: "note", label: "备注", aliases: ["note", "remark", "备注", "订单备注"] },
];

export const COLUMNS_BY_ENTITY = {
  customers: CUSTOMER_COLUMNS,
  contacts: CONTACT_COLUMNS,
  orders: ORDER_COLUMNS,
} as const;
/** Fields a file of each entity must have a column for. */
export const REQUIRED_COLUMNS: Record<keyof typeof COLUMNS_BY_ENTITY, readonly string[]> = {
  customers: ["name"],
  contacts: ["customerCode", "name"],
  orders: ["orderNo", "product", "quantity", "unitPrice"],
};
export type ImportEntity = keyof typeof COLUMNS_BY_ENTITY;
/** The sheet of an entity's workbook (its XLSX template and export). */
export const SHEET_NAMES: Record<ImportEntity, string> = { customers: "客户", contacts: "联系人", orders: "订单" };
export const IMPORT_ENTITIES = Object.keys(COLUMNS_BY_ENTITY) as [ImportEntity, ...ImportEntity[]];

/**
 * "客户名称 *", "客户名称(name)", "Customer_Name" -> "客户名称", "customername": case, spaces, `_`, `-`, required
 * marks and a bracketed note (the templates' English names) do not matter.
 */
export function normalizeHeader(h: string): string {
  return h
    .replace(/^\ufeff/, "")
    .replace(/[(（][^)）]*[)）]/g, "")
    .replace(/[\s_\-*＊]/g, "")
    .toLowerCase();
}

/** Where each field comes from: column index -> field, plus the headers nobody uses (reported, not fatal). */
export interface ColumnMap {
  /** One entry per header cell: the field it fills, or null when ignored. */
  fields: (string | null)[];
  ignored: string[];
}

/**
 * Maps a header row to fields: an explicit `mapping` (header -> field) first, then the recognised aliases. Fails the
 * file when two columns fill one field or a required field (`required`) has no column.
 */
export function mapColumns(
  header: readonly string[],
  columns: readonly ColumnDef[],
  mapping: Record<string, string> | undefined,
  required: readonly string[],
): ColumnMap {
  const fieldOf = columnResolver(columns, mapping);
  const fields: (string | null)[] = [];
  const ignored: string[] = [];
  const taken = new Map<string, string>();
  for (const raw of header) {
    const field = fieldOf(raw);
    if (!field) {
      fields.push(null);
      if (raw.trim()) ignored.push(raw.trim());
      continue;
    }
    const other = taken.get(field);
    if (other !== undefined) {
      throw new BadFileError(`columns "${other}" and "${raw.trim()}" both fill ${field}; keep one or map one away`);
    }
    taken.set(field, raw.trim());
    fields.push(field);
  }
  const missing = required.filter((f) => !taken.has(f));
  if (missing.length) {
    const labels = missing.map((f) => columns.find((c) => c.field === f)?.label ?? f);
    throw new BadFileError(`the header has no column for ${missing.join(", ")} (${labels.join(", ")})`);
  }
  return { fields, ignored };
}

/** The field a header cell names (by `mapping`, then by the columns' aliases), or null. */
function columnResolver(
  columns: readonly ColumnDef[],
  mapping: Record<string, string> | undefined,
): (raw: string) => string | null {
  const byAlias = new Map<string, string>();
  for (const c of columns) for (const a of c.aliases) byAlias.set(normalizeHeader(a), c.field);
  const explicit = new Map(Object.entries(mapping ?? {}).map(([h, f]) => [normalizeHeader(h), f]));
  const known = new Set(columns.map((c) => c.field));
  return (raw) => {
    const h = normalizeHeader(raw);
    const field = explicit.get(h) ?? byAlias.get(h) ?? null;
    return field && known.has(field) ? field : null;
  };
}

/** Rows a title may take above the header (a report name, an export date, as ERP exports write them). */
export const MAX_TITLE_ROWS = 5;

/**
 * Which of a file's first rows is its header: the first that names any column (so title rows above it are
 * skipped), or the first row when none does (its mapping then says what is missing).
 */
export function headerIndex(
  rows: readonly (readonly string[])[],
  columns: readonly ColumnDef[],
  mapping: Record<string, string> | undefined,
): number {
  const fieldOf = columnResolver(columns, mapping);
  const i = rows.findIndex((cells) => cells.some((c) => fieldOf(c) !== null));
  return i < 0 ? 0 : i;
}

/** A row's cells as the object the entity's schema parses: empty cells are left out. */
export function rowObject(
  cells: readonly string[],
  map: ColumnMap,
  columns: readonly ColumnDef[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  map.fields.forEach((field, i) => {
    if (!field) return;
    const cell = (cells[i] ?? "").trim();
    if (!cell) return;
    const def = columns.find((c) => c.field === field);
    out[field] = def?.convert ? def.convert(cell) : cell;
  });
  return out;
}

/** The template's header row: each field's label with its English name, e.g. `客户名称(name)`. */
export function templateHeader(columns: readonly ColumnDef[]): string[] {
  return columns.map((c) => `${c.label}(${c.field})`);
}
