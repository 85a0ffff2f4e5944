/**
 * The run store: the one place that knows the on-disk layout of a run (DESIGN.md, "Run store").
 *
 * ```
 * <run>/config.json, provenance.json, summary.json, summary.csv, branches.json, branches.csv
 * <run>/replicate-<r>/init.safetensors, rewind-<k>.safetensors
 * <run>/replicate-<r>/level-<L>/mask.safetensors, final.safetensors, metrics.jsonl,
 *                               accumulated.safetensors, summary.json (written last: complete)
 * <run>/replicate-<r>/level-<L>/branch-<name>-<hash12>/...  result.json (written last: complete)
 * ```
 *
 * Every write is atomic (a reader sees the old file or the new one), and every stage asks the
 * store whether its output is complete before doing any work. Nothing outside this folder spells
 * a path of the layout.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { EvalRecord, LevelSummary, Masks, TensorMap } from '../contracts.js';
import { UserError } from '../errors.js';
import { copyFileAtomic, readJson, writeFileAtomic, writeJsonAtomic } from './io.js';
import { loadSafetensors, type SafeTensor, saveSafetensors } from './safetensors.js';

/** Host copies of tensors, as safetensors stores them. */
function toSafe(weights: TensorMap): Record<string, SafeTensor> {
  const out: Record<string, SafeTensor> = {};
  for (const [name, t] of Object.entries(weights)) out[name] = { dtype: 'F32', shape: t.shape, data: Float32Array.from(t.dataSync() as Float32Array) };
  return out;
}

/** Writes named tensors (float32) to a safetensors file, atomically. */
export function writeTensors(file: string, tensors: TensorMap, metadata: Record<string, string> = {}): void {
  saveSafetensors(file, toSafe(tensors), metadata);
}

/** Reads named tensors from a safetensors file: `names` (each must be there), or all of them. */
export function readTensors(file: string, names?: string[]): TensorMap {
  const { tensors } = loadSafetensors(file);
  const out: TensorMap = {};
  for (const name of names ?? Object.keys(tensors)) {
    const t = tensors[name];
    if (!t) throw new UserError(`${file} has no tensor "${name}"; delete the file to recompute it`, file);
    out[name] = tf.tensor(t.data, t.shape, t.dtype === 'F32' ? 'float32' : 'int32');
  }
  return out;
}

export function writeMasks(file: string, masks: Masks): void {
  const out: Record<string, SafeTensor> = {};
  for (const [name, m] of Object.entries(masks)) out[name] = { dtype: 'U8', shape: m.shape, data: m.data };
  saveSafetensors(file, out);
}

/** Reads masks; anything but uint8 0/1 values is a damaged file (a UserError naming it). */
export function readMasks(file: string): Masks {
  const { tensors } = loadSafetensors(file);
  const out: Masks = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'U8') throw new UserError(`${file}: mask "${name}" is ${t.dtype}, not U8 (0/1); the file is damaged`, file);
    const bad = (t.data as Uint8Array).findIndex((v) => v > 1);
    if (bad >= 0) throw new UserError(`${file}: mask "${name}" holds ${t.data[bad]} at index ${bad}; masks are 0/1, so the file is damaged`, file);
    out[name] = { shape: t.shape, data: t.data as Uint8Array };
  }
  return out;
}

/** sha256 of a file's bytes (hex). */
export function fileDigest(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The numeric fields every level summary has; a summary without them is damaged. */
const SUMMARY_NUMBERS: (keyof LevelSummary)[] = ['replicate', 'level', 'fractionRemaining', 'remainingWeights', 'finalTestAccuracy', 'earlyStopIteration'];

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** The numbers N of the sub-directories `<prefix>-N` of `dir`, ascending. */
function numbered(dir: string, prefix: string): number[] {
  if (!isDir(dir)) return [];
  const re = new RegExp(`^${prefix}-(\\d+)$`);
  return readdirSync(dir)
    .map((d) => re.exec(d))
    .filter((m): m is RegExpExecArray => m !== null && isDir(join(dir, m[0])))
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The columns of summary.csv, in order (the report's sweep-wide CSV starts its rows with them too). */
export const SUMMARY_COLUMNS: (keyof LevelSummary)[] = [
  'replicate',
  'level',
  'fractionRemaining',
  'remainingWeights',
  'totalPrunableWeights',
  'finalIteration',
  'finalTestAccuracy',
  'finalTestLoss',
  'finalTrainLoss',
  'earlyStopIteration',
  'earlyStopTestAccuracy',
  'earlyStopValidationLoss',
  'seconds',
  'backend',
];

/** One CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180); objects as JSON. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `rows` as CSV with `columns`. */
export function toCsv(columns: string[], rows: Record<string, unknown>[]): string {
  return `${[columns.join(','), ...rows.map((r) => columns.map((c) => csvField(r[c])).join(','))].join('\n')}\n`;
}

/** One row of branches.json / branches.csv: a branch's result at one (replicate, level). */
export interface BranchRow {
  replicate: number;
  level: number;
  branch: string;
  /** The branch directory's name (`branch-<name>-<hash12>`). */
  id: string;
  result: Record<string, unknown>;
}

/** The directory of a branch's outputs at one level; `result.json` (written last) marks it complete. */
export class BranchStore {
  constructor(readonly dir: string) {}

  get resultFile(): string {
    return join(this.dir, 'result.json');
  }
  isComplete(): boolean {
    return existsSync(this.resultFile);
  }
  readResult<T = Record<string, unknown>>(): T {
    return readJson<T>(this.resultFile);
  }
  /** Marks the branch complete with its result (the row of the run's branches.csv). */
  writeResult(result: Record<string, unknown>): void {
    writeJsonAtomic(this.resultFile, result);
  }
  /** A file of the branch's own (a name without directories). */
  file(name: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`branch file name "${name}" must be a plain file name`);
    return join(this.dir, name);
  }
  has(name: string): boolean {
    return existsSync(this.file(name));
  }
  writeJson(name: string, value: unknown): void {
    writeJsonAtomic(this.file(name), value);
  }
  readJson<T>(name: string): T {
    return readJson<T>(this.file(name));
  }
  writeTensors(name: string, tensors: TensorMap, metadata?: Record<string, string>): void {
    writeTensors(this.file(name), tensors, metadata);
  }
  readTensors(name: string, names?: string[]): TensorMap {
    return readTensors(this.file(name), names);
  }
  /** Deletes a file of the branch's own (nothing when it is not there). */
  remove(name: string): void {
    rmSync(this.file(name), { force: true });
  }
  /** The branch's copy of a level's files, for branches that train a level of their own (controls). */
  level(): LevelStore {
    return new LevelStore(this.dir);
  }
}

/** One trained level: its mask, final weights, metrics and summary. */
export class LevelStore {
  constructor(readonly dir: string) {}

  get maskFile(): string {
    return join(this.dir, 'mask.safetensors');
  }
  get finalFile(): string {
    return join(this.dir, 'final.safetensors');
  }
  get metricsFile(): string {
    return join(this.dir, 'metrics.jsonl');
  }
  get summaryFile(): string {
    return join(this.dir, 'summary.json');
  }
  get accumulatedFile(): string {
    return join(this.dir, 'accumulated.safetensors');
  }
  /** The files of a complete level, in the order they are written (summary last). */
  static readonly FILES = ['mask.safetensors', 'final.safetensors', 'metrics.jsonl', 'summary.json'];

  isComplete(): boolean {
    return existsSync(this.summaryFile);
  }
  isStarted(): boolean {
    return isDir(this.dir);
  }
  /** The level's summary, checked to be one (a damaged file is a UserError naming it). */
  readSummary(): LevelSummary {
    const summary = readJson<LevelSummary>(this.summaryFile);
    const missing = SUMMARY_NUMBERS.filter((k) => typeof summary?.[k] !== 'number');
    if (missing.length) throw new UserError(`${this.summaryFile} is damaged: ${missing.join(', ')} missing or not numbers`, this.summaryFile);
    return summary;
  }
  /**
   * Checks the level's files against the digests recorded when it completed (levels written before
   * digests were recorded are not checked). A mismatch is a UserError naming the file.
   */
  verify(summary: LevelSummary, redo: string): void {
    for (const [name, digest] of Object.entries(summary.digests ?? {})) {
      const file = join(this.dir, name);
      if (!existsSync(file) || fileDigest(file) !== digest) {
        throw new UserError(`${file} ${existsSync(file) ? 'was changed or damaged since' : 'is missing, though'} level ${summary.level} completed. ${redo}`, file);
      }
    }
  }
  /** Deletes the level (and its branches): it will be recomputed. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
  readMasks(): Masks {
    return readMasks(this.maskFile);
  }
  readFinal(names: string[]): TensorMap {
    return readTensors(this.finalFile, names);
  }
  hasAccumulated(): boolean {
    return existsSync(this.accumulatedFile);
  }
  readAccumulated(): TensorMap {
    return readTensors(this.accumulatedFile);
  }
  /** Empties metrics.jsonl: a level that restarts records its evaluations afresh. */
  startMetrics(): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(this.metricsFile, '');
  }
  appendMetrics(record: EvalRecord): void {
    appendFileSync(this.metricsFile, `${JSON.stringify(record)}\n`);
  }
  readMetrics(): EvalRecord[] {
    if (!existsSync(this.metricsFile)) return [];
    return readFileSync(this.metricsFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as EvalRecord);
  }
  /**
   * metrics.jsonl as a reader of a live or damaged run sees it: the records of every whole line,
   * and the lines that are not a record (numbered from 1) instead of an exception. A last line
   * without its newline is being written (appends are not atomic): it is left for the next read.
   */
  readMetricsTolerant(): { records: EvalRecord[]; corrupt: { line: number; text: string }[] } {
    const records: EvalRecord[] = [];
    const corrupt: { line: number; text: string }[] = [];
    if (!existsSync(this.metricsFile)) return { records, corrupt };
    const lines = readFileSync(this.metricsFile, 'utf8').split('\n');
    lines.pop(); // '' after the last newline, or a line still being appended
    lines.forEach((text, i) => {
      if (!text.trim()) return;
      try {
        const record = JSON.parse(text) as EvalRecord;
        if (record && typeof record === 'object' && typeof record.iteration === 'number') records.push(record);
        else corrupt.push({ line: i + 1, text });
      } catch {
        corrupt.push({ line: i + 1, text });
      }
    });
    return { records, corrupt };
  }
  /** Stores a trained level: masks and weights first, the summary last (it marks completion). */
  write(masks: Masks, final: TensorMap, summary: LevelSummary, accumulated?: TensorMap): void {
    writeMasks(this.maskFile, masks);
    writeTensors(this.finalFile, final, { kind: 'final', level: String(summary.level) });
    if (accumulated) writeTensors(this.accumulatedFile, accumulated, { kind: 'accumulated', level: String(summary.level) });
    // Digests of what a resumed run reads back, so a file changed on disk is noticed.
    const files = ['mask.safetensors', 'final.safetensors', ...(accumulated ? ['accumulated.safetensors'] : [])];
    const digests = Object.fromEntries(files.map((f) => [f, fileDigest(join(this.dir, f))]));
    writeJsonAtomic(this.summaryFile, { ...summary, digests });
  }
  /** Copies a complete level from another store (a shared dense run), the summary last. */
  copyFrom(other: LevelStore): void {
    for (const f of LevelStore.FILES) copyFileAtomic(join(other.dir, f), join(this.dir, f));
  }
  /** `branch-<name>-<hash12>`: the directory of a branch with these options at this level. */
  branch(name: string, hash: string): BranchStore {
    return new BranchStore(join(this.dir, `branch-${name}-${hash.slice(0, 12)}`));
  }
  /** The branch directories at this level. */
  branches(): { name: string; id: string; store: BranchStore }[] {
    if (!isDir(this.dir)) return [];
    return readdirSync(this.dir)
      .map((d) => /^branch-(.+)-([0-9a-f]{12})$/.exec(d))
      .filter((m): m is RegExpExecArray => m !== null && isDir(join(this.dir, m[0])))
      .map((m) => ({ name: m[1], id: m[0], store: new BranchStore(join(this.dir, m[0])) }));
  }
}

/** One replicate: θ0, the θk snapshots of its dense run, and its levels. */
export class ReplicateStore {
  constructor(readonly dir: string) {}

  get initFile(): string {
    return join(this.dir, 'init.safetensors');
  }
  rewindFile(iteration: number): string {
    return join(this.dir, `rewind-${iteration}.safetensors`);
  }
  hasInit(): boolean {
    return existsSync(this.initFile);
  }
  hasRewind(iteration: number): boolean {
    return existsSync(this.rewindFile(iteration));
  }
  writeInit(weights: TensorMap, replicate: number): void {
    writeTensors(this.initFile, weights, { kind: 'init', replicate: String(replicate) });
  }
  readInit(names: string[]): TensorMap {
    return readTensors(this.initFile, names);
  }
  writeRewind(iteration: number, weights: TensorMap): void {
    writeTensors(this.rewindFile(iteration), weights, { kind: 'rewind', iteration: String(iteration) });
  }
  readRewind(iteration: number, names: string[]): TensorMap {
    return readTensors(this.rewindFile(iteration), names);
  }
  /** The snapshots at `iterations` that exist, by iteration. */
  readSnapshots(iterations: number[], names: string[]): Map<number, TensorMap> {
    const out = new Map<number, TensorMap>();
    for (const k of iterations) if (this.hasRewind(k)) out.set(k, this.readRewind(k, names));
    return out;
  }
  level(level: number): LevelStore {
    return new LevelStore(join(this.dir, `level-${level}`));
  }
  levels(): number[] {
    return numbered(this.dir, 'level');
  }
  /** Copies θ0 and the given snapshots from another store (a shared dense run). */
  copySnapshotsFrom(other: ReplicateStore, iterations: number[]): void {
    copyFileAtomic(other.initFile, this.initFile);
    for (const k of iterations) copyFileAtomic(other.rewindFile(k), this.rewindFile(k));
  }
}

/** A run directory: its config, provenance, replicates and the run-level summaries. */
export class RunStore {
  constructor(readonly dir: string) {}

  get configFile(): string {
    return join(this.dir, 'config.json');
  }
  get provenanceFile(): string {
    return join(this.dir, 'provenance.json');
  }
  get summaryFile(): string {
    return join(this.dir, 'summary.json');
  }
  /** Written when a run finished every level and branch; removed when a run (re)opens. */
  get completeFile(): string {
    return join(this.dir, 'complete.json');
  }
  isMarkedComplete(): boolean {
    return existsSync(this.completeFile);
  }
  markComplete(levels: number): void {
    writeJsonAtomic(this.completeFile, { levels });
  }
  clearComplete(): void {
    rmSync(this.completeFile, { force: true });
  }
  /** Whether `dir` looks like a run directory (config.json, or replicate directories). */
  static isRun(dir: string): boolean {
    return existsSync(join(dir, 'config.json')) || numbered(dir, 'replicate').length > 0;
  }
  hasConfig(): boolean {
    return existsSync(this.configFile);
  }
  readConfig<T = Record<string, unknown>>(): T {
    return readJson<T>(this.configFile);
  }
  writeConfig(value: unknown): void {
    writeJsonAtomic(this.configFile, value);
  }
  readProvenance<T = Record<string, unknown>>(): T | undefined {
    return existsSync(this.provenanceFile) ? readJson<T>(this.provenanceFile) : undefined;
  }
  writeProvenance(value: unknown): void {
    writeJsonAtomic(this.provenanceFile, value);
  }
  replicate(r: number): ReplicateStore {
    return new ReplicateStore(join(this.dir, `replicate-${r}`));
  }
  replicates(): number[] {
    return numbered(this.dir, 'replicate');
  }
  /** Every complete level summary on disk, by replicate then level. */
  levelSummaries(): LevelSummary[] {
    const rows: LevelSummary[] = [];
    for (const r of this.replicates()) {
      const rep = this.replicate(r);
      for (const L of rep.levels()) if (rep.level(L).isComplete()) rows.push(rep.level(L).readSummary());
    }
    return rows.sort((a, b) => a.replicate - b.replicate || a.level - b.level);
  }
  /** Every complete branch result on disk, by replicate, level and branch directory. */
  branchRows(): BranchRow[] {
    const rows: BranchRow[] = [];
    for (const r of this.replicates()) {
      const rep = this.replicate(r);
      for (const level of rep.levels()) {
        for (const b of rep.level(level).branches()) {
          if (b.store.isComplete()) rows.push({ replicate: r, level, branch: b.name, id: b.id, result: b.store.readResult() });
        }
      }
    }
    return rows.sort((a, b) => a.replicate - b.replicate || a.level - b.level || a.id.localeCompare(b.id));
  }
  /**
   * Writes summary.json / summary.csv (one row per complete level) and, where branches ran,
   * branches.json / branches.csv (one row per level × branch), from the files on disk.
   */
  writeSummaries(): LevelSummary[] {
    const rows = this.levelSummaries();
    writeJsonAtomic(this.summaryFile, rows);
    writeFileAtomic(join(this.dir, 'summary.csv'), toCsv(SUMMARY_COLUMNS, rows as unknown as Record<string, unknown>[]));
    const branches = this.branchRows();
    if (branches.length) {
      writeJsonAtomic(join(this.dir, 'branches.json'), branches);
      const keys = [...new Set(branches.flatMap((b) => Object.keys(b.result)))].filter((k) => !['replicate', 'level'].includes(k));
      const flat = branches.map((b) => ({ replicate: b.replicate, level: b.level, branch: b.branch, id: b.id, ...b.result }));
      writeFileAtomic(join(this.dir, 'branches.csv'), toCsv(['replicate', 'level', 'branch', 'id', ...keys], flat));
    }
    return rows;
  }
}
