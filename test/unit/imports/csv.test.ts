// The byte-level CSV parser, encoding detection and the formula-safe writer, on files as users make them.
import { describe, expect, it } from "vitest";
import {
  BadFileError,
  csvCell,
  csvLine,
  decoderFor,
  type Delimiter,
  delimiterOf,
  parseCsv,
  type RawRow,
  sniff,
} from "../../../shared/domain/imports/csv.ts";
import {
  birthdayCell,
  CONTACT_COLUMNS,
  headerIndex,
  mapColumns,
  normalizeHeader,
  CUSTOMER_COLUMNS,
} from "../../../shared/domain/imports/columns.ts";
import { importTemplate } from "../../../shared/domain/imports/service.ts";
import { sheetRowXml } from "../../../shared/domain/exports/xlsx-write.ts";

/** Feeds `bytes` in pieces of `size` (so every boundary case of the chunking is exercised). */
async function* pieces(bytes: Buffer, size: number) {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function rowsOf(bytes: Buffer, size = 3, start = 0, line = 1, maxCell?: number): Promise<RawRow[]> {
  const out: RawRow[] = [];
  for await (const r of parseCsv(pieces(bytes.subarray(start), size), start, line, maxCell)) out.push(r);
  return out;
}
const text = (rows: RawRow[]) => rows.map((r) => r.fields.map((f) => f.toString("utf8")));

describe("parseCsv", () => {
  it("splits quoted cells with commas, doubled quotes and line breaks, CRLF or LF, whatever the chunk size", async () => {
    const csv = Buffer.from('name,note\r\n"A, Inc.","say ""hi"""\r\nB,"two\nlines"\nC,\n');
    for (const size of [1, 2, 3, 7, 1000]) {
      const rows = await rowsOf(csv, size);
      expect(text(rows)).toEqual([
        ["name", "note"],
        ["A, Inc.", 'say "hi"'],
        ["B", "two\nlines"],
        ["C", ""],
      ]);
      // Records, not physical lines: a line break inside a quoted cell does not start a row.
      expect(rows.map((r) => r.line)).toEqual([1, 2, 3, 4]);
    }
  });

  it("reports each row's end offset so a parse started there continues with the next row", async () => {
    const csv = Buffer.from("h1,h2\r\na,1\r\nb,2\r\nc,3");
    const all = await rowsOf(csv);
    const second = all[1]!;
    const rest = await rowsOf(csv, 2, second.end, second.line + 1);
    expect(text(rest)).toEqual([
      ["b", "2"],
      ["c", "3"],
    ]);
    expect(rest[0]!.line).toBe(3);
    expect(all.at(-1)!.end).toBe(csv.length);
  });

  it("skips blank lines but counts them, like a spreadsheet's row numbers", async () => {
    const rows = await rowsOf(Buffer.from("h\n\na\r\n\r\nb\n"));
    expect(rows.map((r) => [r.line, r.fields[0]!.toString()])).toEqual([
      [1, "h"],
      [3, "a"],
      [5, "b"],
    ]);
  });

  it("fails on an unterminated quote, naming the row it opened on", async () => {
    await expect(rowsOf(Buffer.from('h\na\n"open,b\nc\n'))).rejects.toThrow(/row 3: a quoted cell is never closed/);
  });

  it("fails on a cell larger than the limit without holding the rest of the file", async () => {
    const big = Buffer.concat([Buffer.from("h\n"), Buffer.alloc(5000, 0x61), Buffer.from("\n")]);
    await expect(rowsOf(big, 512, 0, 1, 1024)).rejects.toThrow(BadFileError);
    await expect(rowsOf(big, 512, 0, 1, 1024)).rejects.toThrow(/row 2: a cell is larger than 1024 bytes/);
  });

  it("keeps GBK characters whole: their bytes never split a row or a cell", async () => {
    const gbk = Buffer.from([
      ...Buffer.from("name,phone\r\n"),
      0xc9,
      0xcf,
      0xba,
      0xa3, // 上海
      ...Buffer.from(",021-1\r\n"),
    ]);
    const rows = await rowsOf(gbk, 1);
    expect(decoderFor("gb18030")(rows[1]!.fields[0]!)).toBe("上海");
  });
});

describe("cell separators", () => {
  it.each([
    ["name,phone,level\r\n", ","],
    ["name;phone;level\r\nA;1,5;B\r\n", ";"],
    ["name\tphone\tlevel\n", "\t"],
    ['"a;b;c",d\n', ","],
    ["name\n", ","],
    ['"名称;备注"\t电话\t等级\n', "\t"],
  ])("the first row %j is separated by %j", (head, sep) => {
    expect(delimiterOf(Buffer.from(head))).toBe(sep);
  });

  it("looks past a title row without separators when told to read more rows", () => {
    const head = Buffer.from("客户清单\n\n名称\t电话\t等级\nA\t1, 2\tB\n");
    expect(delimiterOf(head)).toBe(",");
    expect(delimiterOf(head, 0, 6)).toBe("\t");
  });

  it("starts after a BOM", () => {
    expect(delimiterOf(Buffer.from("\ufeffname;phone\n"), 3)).toBe(";");
  });

  it.each([";", "\t"] as Delimiter[])(
    "parses %j-separated rows, quotes and a comma inside a cell included",
    async (sep) => {
      const csv = Buffer.from(
        `name${sep}note${sep}amount\r\n"A${sep} Inc."${sep}"say ""hi"""${sep}1,50\r\nB${sep}${sep}2\n`,
      );
      for (const size of [1, 4, 1000]) {
        const rows: RawRow[] = [];
        for await (const r of parseCsv(pieces(csv, size), 0, 1, undefined, sep)) rows.push(r);
        expect(text(rows)).toEqual([
          ["name", "note", "amount"],
          [`A${sep} Inc.`, 'say "hi"', "1,50"],
          ["B", "", "2"],
        ]);
      }
    },
  );
});

describe("sniff", () => {
  const g = (b: number[]) => Buffer.from(b);
  it("recognises UTF-8 with and without BOM, GBK, and XLSX", () => {
    expect(sniff(Buffer.from("\ufeffname\n"), 8)).toEqual({ format: "csv", encoding: "utf-8", start: 3 });
    expect(sniff(Buffer.from("名称\n"), 7)).toEqual({ format: "csv", encoding: "utf-8", start: 0 });
    expect(sniff(g([0xc3, 0xfb, 0xb3, 0xc6, 0x0a]), 5)).toEqual({ format: "csv", encoding: "gb18030", start: 0 });
    expect(sniff(g([0x50, 0x4b, 0x03, 0x04, 0, 0]), 6).format).toBe("xlsx");
  });
  it("refuses empty, UTF-16, binary, encrypted workbooks and text in no known encoding", () => {
    expect(() => sniff(Buffer.alloc(0), 0)).toThrow("the file is empty");
    expect(() => sniff(g([0xff, 0xfe, 0x41, 0]), 4)).toThrow(/UTF-16/);
    expect(() => sniff(g([0x41, 0, 0x42]), 3)).toThrow(/unknown encoding/);
    expect(() => sniff(g([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0]), 9)).toThrow(/password-protected/);
    expect(() => sniff(g([0x41, 0xff, 0xff, 0xff, 0x0a]), 5)).toThrow(/neither UTF-8 nor GBK/);
  });
  it("accepts a 64 KB sample that ends inside a character when the file goes on", () => {
    const head = Buffer.from("名称\n名").subarray(0, 9); // cuts 名 after its first two bytes
    expect(sniff(head, 1000).encoding).toBe("utf-8");
  });
});

describe("csvCell", () => {
  it("neutralises formulas and quotes what needs it", () => {
    expect(csvCell('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(csvCell("+1")).toBe("'+1");
    expect(csvCell("-2")).toBe("'-2");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell(["x", "y"])).toBe('"x,y"');
    expect(csvLine(["上海", undefined, 3])).toBe("上海,,3\r\n");
  });
});

describe("columns", () => {
  it("recognises Chinese and English headers, template headers and explicit mappings", () => {
    expect(normalizeHeader("客户名称(name)")).toBe("客户名称");
    const map = mapColumns(
      ["客户名称", "Phone", "统一社会信用代码", "备注", "负责人 *"],
      CUSTOMER_COLUMNS,
      { 备注: "industry" },
      ["name"],
    );
    expect(map.fields).toEqual(["name", "phone", "uscc", "industry", "ownerId"]);
    const other = mapColumns(["name", "whatever"], CUSTOMER_COLUMNS, undefined, ["name"]);
    expect(other.ignored).toEqual(["whatever"]);
  });
  it("fails when two columns fill one field or the name has no column", () => {
    expect(() => mapColumns(["名称", "客户名称"], CUSTOMER_COLUMNS, undefined, ["name"])).toThrow(/both fill name/);
    expect(() => mapColumns(["电话"], CUSTOMER_COLUMNS, undefined, ["name"])).toThrow(/no column for name/);
  });
});

describe("headerIndex", () => {
  it("finds the header below title rows, and falls back to the first row when no row names a column", () => {
    expect(
      headerIndex(
        [["客户清单"], ["导出日期：2026-11-30"], ["客户编码", "客户名称"], ["C-1", "甲"]],
        CUSTOMER_COLUMNS,
        undefined,
      ),
    ).toBe(2);
    expect(
      headerIndex(
        [
          ["code", "name"],
          ["C-1", "甲"],
        ],
        CUSTOMER_COLUMNS,
        undefined,
      ),
    ).toBe(0);
    expect(headerIndex([["清单"], ["Firma", "Tel"]], CUSTOMER_COLUMNS, { Firma: "name" })).toBe(1);
    expect(headerIndex([["清单"], ["1", "2"]], CUSTOMER_COLUMNS, undefined)).toBe(0);
  });
});

describe("birthday column", () => {
  it("maps 生日 / birthday headers and normalises the usual date forms", () => {
    expect(mapColumns(["客户编码", "联系人", "生日"], CONTACT_COLUMNS, undefined, []).fields).toEqual([
      "customerCode",
      "name",
      "birthday",
    ]);
    expect(mapColumns(["Birthday"], CONTACT_COLUMNS, undefined, []).fields).toEqual(["birthday"]);
    expect(birthdayCell("1985/5/3")).toBe("1985-05-03");
    expect(birthdayCell("1985年5月3日")).toBe("1985-05-03");
    expect(birthdayCell("1985.12.31")).toBe("1985-12-31");
    expect(birthdayCell("5月3日")).toBe("--05-03");
    expect(birthdayCell("--02-29")).toBe("--02-29");
    expect(birthdayCell("12/31")).toBe("--12-31");
    expect(birthdayCell("next tuesday")).toBe("next tuesday");
  });
});

describe("importTemplate", () => {
  it("starts with the UTF-8 BOM (Excel needs it for Chinese headers) and maps back to every field", async () => {
    const t = await importTemplate("customers");
    const body = t.body as string;
    expect(body.startsWith("\ufeff客户编码(code),客户名称(name),")).toBe(true);
    const header = body.slice(1).trim().split(",");
    expect(mapColumns(header, CUSTOMER_COLUMNS, undefined, ["name"]).fields).toEqual(
      CUSTOMER_COLUMNS.map((c) => c.field),
    );
  });
});

describe("sheetRowXml", () => {
  it("writes inline strings, escaped, without characters XML cannot hold, and skips empty cells", () => {
    expect(sheetRowXml(3, ['a<b>&"c"', undefined, "x\u0001y", ["t1", "t2"]])).toBe(
      '<row r="3"><c r="A3" t="inlineStr"><is><t xml:space="preserve">a&lt;b&gt;&amp;&quot;c&quot;</t></is></c>' +
        '<c r="C3" t="inlineStr"><is><t xml:space="preserve">xy</t></is></c>' +
        '<c r="D3" t="inlineStr"><is><t xml:space="preserve">t1,t2</t></is></c></row>',
    );
    expect(
      sheetRowXml(
        1,
        Array.from({ length: 28 }, (_, i) => (i === 27 ? "z" : "")),
      ),
    ).toContain('r="AB1"');
  });
});
