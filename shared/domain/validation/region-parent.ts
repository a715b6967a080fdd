// The code a region's display path extends: the province of a city, the city of a county (GB/T 2260 code shape).

/** `XX0000` for a city `XXYY00`, `XXYY00` for a county `XXYYZZ`, `undefined` for a province. */
export function parentRegionCode(code: string): string | undefined {
  if (code.endsWith("0000")) return undefined;
  if (code.endsWith("00")) return `${code.slice(0, 2)}0000`;
  return `${code.slice(0, 4)}00`;
}
