// Small file helpers for the local runtime's state: atomic JSON snapshots (write a temp file, then rename).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

let counter = 0;
const tmpName = (file: string) => `${file}.${process.pid}.${++counter}.tmp`;

/** Writes `value` as JSON so that a reader (or a crash) only ever sees the old or the new file, never half of one. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = tmpName(file);
  await writeFile(tmp, JSON.stringify(value), "utf8");
  await rename(tmp, file);
}

/** Synchronous twin of writeJsonAtomic, for the process `exit` hook where nothing async runs. */
export function writeJsonAtomicSync(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = tmpName(file);
  writeFileSync(tmp, JSON.stringify(value), "utf8");
  renameSync(tmp, file);
}

/** Reads a JSON file, or returns `fallback` when it does not exist. A corrupt file is an error worth seeing. */
export async function readJson<T>(file: string, fallback: T): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return fallback;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${file} is not valid JSON; move it away to start from scratch`);
  }
}

export function readJsonSync<T>(file: string, fallback: T): T {
  if (!existsSync(file)) return fallback;
  return JSON.parse(readFileSync(file, "utf8")) as T;
}

/**
 * Coalesces snapshot writes of one file: `save()` resolves once a snapshot taken after the call is on disk.
 * Calls made while a write is queued share it; writes never overlap.
 */
export class SnapshotFile {
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  constructor(
    readonly file: string,
    private readonly snapshot: () => unknown,
  ) {}

  save(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.chain.then(() => {
      this.queued = undefined;
      return writeJsonAtomic(this.file, this.snapshot());
    });
    this.queued = next;
    this.chain = next.catch(() => undefined);
    return next;
  }

  saveSync(): void {
    writeJsonAtomicSync(this.file, this.snapshot());
  }
}
