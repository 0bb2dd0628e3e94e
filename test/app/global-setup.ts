// Starts a throwaway PostgreSQL cluster (Debian's server binaries) for the app tests and
// provides how to reach it. Each test file makes its own database in it.
import { execFileSync } from "node:child_process";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { asPostgres, findBinDir, postgresOwner } from "./pg-binaries.js";
import { freePort } from "./ports.js";

export interface PgServer {
  host: string;
  port: number;
  user: string;
  password: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    pg: PgServer;
  }
}

export default async function setup(project: TestProject) {
  const bin = findBinDir();
  const dir = mkdtempSync(join(tmpdir(), "hs-app-pg-"));
  const data = join(dir, "data");
  const pwfile = join(dir, "pwfile");
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });

  // initdb refuses to run as root: run the server binaries as the `postgres` user then.
  const owner = postgresOwner();
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  const run = (tool: string, args: string[]) => {
    const [cmd, argv] = asPostgres(join(bin, tool), args);
    return execFileSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  };

  run("initdb", [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=scram-sha-256",
    `--pwfile=${pwfile}`,
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  const port = await freePort();
  run("pg_ctl", [
    "-D",
    data,
    "-l",
    join(dir, "server.log"),
    "-w",
    "-t",
    "60",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
    "start",
  ]);

  project.provide("pg", { host: "127.0.0.1", port, user: "postgres", password });

  return () => {
    try {
      run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
