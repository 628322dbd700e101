/**
 * Checkpoints kept in a local JSON file on top of another store: what lets the backfill CLI
 * resume after an interruption in the embedded default (no Redis), where the rest of its state
 * lives only in the process. Everything but checkpoints goes to the wrapped store.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SyncStore } from './types';

function readAll(file: string): Record<string, string> {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

function writeAll(file: string, values: Record<string, string>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Write then rename, so an interruption never leaves half a file.
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, JSON.stringify(values, null, 2));
  fs.renameSync(temporary, file);
}

export function withFileCheckpoints(store: SyncStore, file: string): SyncStore {
  const overrides: Pick<SyncStore, 'getCheckpoint' | 'setCheckpoint' | 'deleteCheckpoint'> = {
    async getCheckpoint(name: string) {
      return readAll(file)[name] ?? null;
    },
    async setCheckpoint(name: string, value: string) {
      writeAll(file, { ...readAll(file), [name]: value });
    },
    async deleteCheckpoint(name: string) {
      const { [name]: _removed, ...rest } = readAll(file);
      writeAll(file, rest);
    },
  };
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property in overrides) return overrides[property as keyof typeof overrides];
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
