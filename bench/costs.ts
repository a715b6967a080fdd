// Estimated cost per million API calls of each kind and per million imported rows, from the capacity the benchmarks
// measured (ReturnConsumedCapacity of DynamoDB Local, exact for reads, single-item writes and BatchWriteItem; a
// transaction's write units counted by DynamoDB's rule, since DynamoDB Local reports too little: see costsCaveat) and
// the local duration (an upper bound: DynamoDB Local on a small machine is far slower than DynamoDB), at the public
// prices below.

/** Public on-demand prices, us-east-1, as published by AWS (the DynamoDB ones since the November 2024 cut). */
export const PRICES = {
  checked: "2026-12-01",
  region: "us-east-1",
  dynamodbWriteRequestUnitPerMillion: 0.625,
  dynamodbReadRequestUnitPerMillion: 0.125,
  lambdaArm64GbSecond: 0.0000133334,
  lambdaRequestPerMillion: 0.2,
  httpApiRequestPerMillion: 1.0,
  sqsRequestPerMillion: 0.4,
  /** Every function's memory (infra/constructs/api-function.ts). */
  lambdaMemoryGb: 0.5,
} as const;

/**
 * How the write units behind the cost table were counted: a transaction's by DynamoDB's rule from its items (DynamoDB
 * Local reports too little for one, see bench/capacity-probe.ts), unless a part's result predates that and only has
 * DynamoDB Local's figure (a lower bound).
 */
export function costsCaveat(api: { calls?: object[] } | undefined, imports: object | undefined): string {
  const ruled = (x: object | undefined, key: string) => x !== undefined && key in x;
  const apiRuled = (api?.calls ?? []).every((c) => ruled(c, "writeUnitsDynamoDbLocal"));
  const importRuled = ruled(imports, "writeUnitsPerRowDynamoDbLocal");
  const lower = [!apiRuled && "API calls", imports && !importRuled && "imported rows"].filter(Boolean);
  return (
    "Write units of transactions are counted by DynamoDB's rule, 2 per item per started KB plus 1 per started KB " +
    "in each index that holds the item (bench/written.ts), " +
    "because DynamoDB Local reports too little for them (bench/capacity-probe.ts)" +
    (lower.length
      ? `; the ${lower.join(" and ")} come from a run before that, with DynamoDB Local's figure: a lower bound.`
      : ".")
  );
}

export interface CostRow {
  what: string;
  dynamodb: number;
  lambda: number;
  apiGateway: number;
  total: number;
}

const usd = (x: number) => Math.round(x * 100) / 100;

interface ApiCall {
  name: string;
  p50Ms: number;
  readUnits?: number;
  writeUnits?: number;
}

/** USD per million calls of each measured API call, and per million imported rows when the import part measured it. */
export function costTable(
  api: { calls?: ApiCall[] },
  imports?: { importRowsPerSec?: number; readUnitsPerRow?: number; writeUnitsPerRow?: number },
): CostRow[] {
  const rows: CostRow[] = [];
  for (const c of api.calls ?? []) {
    if (c.name.startsWith("bare ") || c.readUnits === undefined) continue;
    const dynamodb =
      c.readUnits * PRICES.dynamodbReadRequestUnitPerMillion +
      (c.writeUnits ?? 0) * PRICES.dynamodbWriteRequestUnitPerMillion;
    const lambda =
      (c.p50Ms / 1000) * PRICES.lambdaMemoryGb * PRICES.lambdaArm64GbSecond * 1e6 + PRICES.lambdaRequestPerMillion;
    const apiGateway = PRICES.httpApiRequestPerMillion;
    rows.push({
      what: c.name,
      dynamodb: usd(dynamodb),
      lambda: usd(lambda),
      apiGateway,
      total: usd(dynamodb + lambda + apiGateway),
    });
  }
  if (imports?.importRowsPerSec && imports.writeUnitsPerRow !== undefined) {
    const dynamodb =
      (imports.readUnitsPerRow ?? 0) * PRICES.dynamodbReadRequestUnitPerMillion +
      imports.writeUnitsPerRow * PRICES.dynamodbWriteRequestUnitPerMillion;
    // Worker seconds for a million rows at the local rate (the cloud's is higher, so this overstates Lambda's share).
    const lambda = (1e6 / imports.importRowsPerSec) * PRICES.lambdaMemoryGb * PRICES.lambdaArm64GbSecond;
    rows.push({
      what: "imported customer rows",
      dynamodb: usd(dynamodb),
      lambda: usd(lambda),
      apiGateway: 0,
      total: usd(dynamodb + lambda),
    });
  }
  return rows;
}
