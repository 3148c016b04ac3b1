import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The placement vectors checked into the repository (see test/fixtures/vectors/README.md). */
export const VECTORS_DIR = path.join(__dirname, '../fixtures/vectors');

/** ketama-seed-3.json */
export interface KetamaVectors {
  readonly backends: string[];
  readonly vnodes: number;
  readonly cases: { key: number; backend: string }[];
  readonly stringCases: { keyString: string; crc32IEEE: number; backend: string }[];
}

/** ring-hash-grpc-3.json */
export interface RingHashVectors {
  readonly backends: string[];
  readonly minRingSize: number;
  readonly maxRingSize: number;
  readonly cases: { keyString?: string; hash: string; backend: string }[];
}

/** Reads a vector file; throws (failing the test loudly) when it is missing. */
export function readVectors<T>(name: string): T {
  const file = path.join(VECTORS_DIR, name);
  if (!existsSync(file)) throw new Error(`vector file missing: ${file} (expected in test/fixtures/vectors)`);
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}
