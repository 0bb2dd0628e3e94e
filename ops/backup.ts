// Backups of a stack on demand and the state of its repository, through the stack's backup
// container (`<prefix>-backup`, pg-backup inside it): what `npm run backup` prints and what the
// e2e tests and bench/backup.ts use. README, "Backups and restore".
import { exec } from "./docker";

/** One base backup as pg-backup reports it. */
export interface BackupRecord {
  readonly label: string;
  readonly type: "full" | "diff" | "incr";
  /** ISO times (UTC) the backup started and stopped. */
  readonly start: string;
  readonly stop: string;
  /** Database size the backup covers, and what it takes in the repository (compressed), bytes. */
  readonly size: number;
  readonly repoSize: number;
}

/** A backup just taken: the record plus how long it took. */
export interface TakenBackup extends BackupRecord {
  readonly seconds: number;
}

/** The repository: its backups, the archive's first and last segment and the recoverable window. */
export interface RepositoryInfo {
  /** pgbackrest's status message (`ok`, `no valid backups`, …). */
  readonly status: string;
  readonly backups: BackupRecord[];
  readonly archive: { readonly min: string | null; readonly max: string | null };
  /**
   * Earliest: the end of the oldest backup. Latest: the last commit the archive holds (a target
   * must be before it). Null while there is no backup or no archive.
   */
  readonly window: { readonly earliest: string | null; readonly latest: string | null };
}

/** The backup container of stack `stack`. */
export function backupContainer(stack: string): string {
  return `ha-stack-${stack}-backup`;
}

/** Takes a base backup now (`diff` falls back to `full` when there is none). */
export async function takeBackup(
  stack: string,
  type: BackupRecord["type"] = "full",
): Promise<TakenBackup> {
  const out = await exec(backupContainer(stack), ["pg-backup", "backup", type], "postgres");
  return JSON.parse(lastLine(out)) as TakenBackup;
}

/** The repository's backups, archive and recoverable window. */
export async function repositoryInfo(stack: string): Promise<RepositoryInfo> {
  const out = await exec(backupContainer(stack), ["pg-backup", "info"], "postgres");
  return JSON.parse(lastLine(out)) as RepositoryInfo;
}

function lastLine(text: string): string {
  const lines = text.trim().split("\n");
  return lines[lines.length - 1];
}

/** Bytes in MiB with one decimal: `12.3 MiB` (backups of this stack are MiB to GiB). */
export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
