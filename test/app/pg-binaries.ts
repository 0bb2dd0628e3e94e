// Debian's PostgreSQL server binaries, run as the `postgres` user when the tests run as root
// (initdb and postgres refuse to run as root): shared by global-setup.ts and pg-pair.ts.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** The directory holding initdb, pg_ctl, pg_basebackup, … */
export function findBinDir(): string {
  try {
    const dir = execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
    if (existsSync(join(dir, "initdb"))) return dir;
  } catch {
    // pg_config is absent when only the server package is installed; look in Debian's layout.
  }
  const versions = existsSync("/usr/lib/postgresql")
    ? readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const dir = `/usr/lib/postgresql/${v}/bin`;
    if (existsSync(join(dir, "initdb"))) return dir;
  }
  throw new Error(
    "PostgreSQL server binaries not found (no initdb via pg_config --bindir or in " +
      "/usr/lib/postgresql/*/bin); install them, e.g. `apt-get install postgresql`",
  );
}

/** The `postgres` user's uid and gid when running as root (files must be theirs), else null. */
export function postgresOwner(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  return {
    uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })),
    gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" })),
  };
}

/** `cmd args` as the `postgres` user when running as root, as it is otherwise. */
export function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0
    ? ["runuser", ["-u", "postgres", "--", cmd, ...args]]
    : [cmd, args];
}
