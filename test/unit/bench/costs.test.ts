// The cost table says which of its write units are a lower bound: results measured before the bench counted
// transactions by DynamoDB's rule carry only DynamoDB Local's figure.
import { describe, expect, it } from "vitest";
import { costsCaveat } from "../../../bench/costs.ts";

describe("costsCaveat", () => {
  const ruledCall = { name: "create customer", writeUnits: 70, writeUnitsDynamoDbLocal: 39 };
  const oldCall = { name: "create customer", writeUnits: 39 };

  it("names no lower bound when every part counted transactions by the rule", () => {
    const text = costsCaveat({ calls: [ruledCall] }, { writeUnitsPerRow: 36, writeUnitsPerRowDynamoDbLocal: 12.5 });
    expect(text).not.toMatch(/lower bound/);
  });

  it("names the parts whose figures are DynamoDB Local's", () => {
    expect(costsCaveat({ calls: [ruledCall] }, { writeUnitsPerRow: 12.5 })).toMatch(
      /the imported rows come from a run before that.*lower bound/,
    );
    expect(costsCaveat({ calls: [ruledCall, oldCall] }, { writeUnitsPerRow: 12.5 })).toMatch(
      /the API calls and imported rows/,
    );
    expect(costsCaveat({ calls: [oldCall] }, undefined)).toMatch(/the API calls come from/);
  });
});
