// Route matching as API Gateway HTTP APIs do it: method + path template, literal segments before {param}, {proxy+} last.
import type { HttpFunctionDef, HttpMethod } from "../../functions/manifest.ts";

export interface CompiledRoute {
  functionName: string;
  entry: string;
  method: HttpMethod;
  path: string;
  auth: boolean;
  /** `${method} ${path}`, the event's routeKey. */
  routeKey: string;
  segments: Segment[];
}

type Segment = { kind: "literal"; value: string } | { kind: "param"; name: string } | { kind: "greedy"; name: string };

export interface RouteMatch {
  route: CompiledRoute;
  /** URL-decoded path parameters. */
  params: Record<string, string>;
}

function compileSegments(path: string): Segment[] {
  return path
    .split("/")
    .slice(1)
    .map((s): Segment => {
      const greedy = /^\{([A-Za-z0-9_]+)\+\}$/.exec(s);
      if (greedy) return { kind: "greedy", name: greedy[1]! };
      const param = /^\{([A-Za-z0-9_]+)\}$/.exec(s);
      if (param) return { kind: "param", name: param[1]! };
      return { kind: "literal", value: s };
    });
}

export function compileRoutes(functions: Record<string, HttpFunctionDef>): CompiledRoute[] {
  const out: CompiledRoute[] = [];
  const seen = new Set<string>();
  for (const [functionName, def] of Object.entries(functions)) {
    for (const r of def.routes) {
      const routeKey = `${r.method} ${r.path}`;
      if (seen.has(routeKey)) throw new Error(`route ${routeKey} is declared twice in the manifest`);
      seen.add(routeKey);
      out.push({
        functionName,
        entry: def.entry,
        method: r.method,
        path: r.path,
        auth: r.auth,
        routeKey,
        segments: compileSegments(r.path),
      });
    }
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Match quality, segment by segment: literal (2) beats {param} (1) beats {proxy+} (0). Higher wins. */
function score(route: CompiledRoute): number[] {
  return route.segments.map((s) => (s.kind === "literal" ? 2 : s.kind === "param" ? 1 : 0));
}

function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

function matchPath(route: CompiledRoute, parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const seg = route.segments[i]!;
    if (seg.kind === "greedy") {
      const rest = parts.slice(i);
      if (rest.length === 0 || rest.join("/") === "") return undefined;
      params[seg.name] = rest.map(safeDecode).join("/");
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.kind === "literal") {
      if (safeDecode(part) !== seg.value) return undefined;
    } else {
      if (part === "") return undefined;
      params[seg.name] = safeDecode(part);
    }
  }
  return parts.length === route.segments.length ? params : undefined;
}

/** Finds the route for a method and raw (still encoded) path; undefined means API Gateway's 404. */
export function matchRoute(routes: readonly CompiledRoute[], method: string, rawPath: string): RouteMatch | undefined {
  const parts = rawPath.split("/").slice(1);
  let best: RouteMatch | undefined;
  for (const route of routes) {
    if (route.method !== method.toUpperCase()) continue;
    const params = matchPath(route, parts);
    if (!params) continue;
    if (!best || compareScores(score(route), score(best.route)) > 0) best = { route, params };
  }
  return best;
}
