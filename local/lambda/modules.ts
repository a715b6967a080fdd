// Loads handler modules the way Lambda does (the module named by the manifest entry, its `handler` export), lazily
// and once: a module that fails to load only breaks the routes or queue that use it, and is retried on next use.
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";

export type AnyHandler = (event: never, context: never) => unknown;

export type ModuleImporter = (entry: string) => Promise<Record<string, unknown>>;

/** Imports `entry` (relative to `root`) with plain dynamic import, which works under tsx and vitest alike. */
export function fileImporter(root: string): ModuleImporter {
  return (entry) => {
    const abs = isAbsolute(entry) ? entry : resolve(root, entry);
    return import(process.platform === "win32" ? pathToFileURL(abs).href : abs) as Promise<Record<string, unknown>>;
  };
}

export class HandlerCache {
  private readonly loaded = new Map<string, AnyHandler>();
  private readonly pending = new Map<string, Promise<AnyHandler>>();

  constructor(private readonly importer: ModuleImporter) {}

  /** The `handler` export of `entry`; rejects (and is retried on the next call) when the module cannot be loaded. */
  get(entry: string): Promise<AnyHandler> {
    const hit = this.loaded.get(entry);
    if (hit) return Promise.resolve(hit);
    let p = this.pending.get(entry);
    if (!p) {
      p = this.importer(entry).then((mod) => {
        const handler = mod.handler;
        if (typeof handler !== "function") throw new Error(`${entry} does not export a function named handler`);
        this.loaded.set(entry, handler as AnyHandler);
        return handler as AnyHandler;
      });
      this.pending.set(entry, p);
      p.finally(() => this.pending.delete(entry)).catch(() => undefined);
    }
    return p;
  }
}
