// How long `npm run toolchain` takes from nothing (empty Go module and build caches, no toolchain
// directory: what a fresh machine pays once) and cached (the second run), step by step, and how
// much disk the result and the Go caches take. The cold run uses caches of its own under the
// temporary directory, so the machine's own are neither used nor touched; they are removed after.
//   npm run bench:toolchain
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROGRAM_DIR } from "../ops/engine";
import { report, type Figure } from "./report";

interface Run {
  readonly seconds: number;
  /** The script's progress lines: `toolchain: <what> (<s> s)`. */
  readonly steps: { what: string; seconds: number }[];
  readonly dir: string;
}

function toolchain(env: NodeJS.ProcessEnv): Run {
  const start = Date.now();
  const run = spawnSync("bash", [path.join(PROGRAM_DIR, "scripts/pulumi-toolchain.sh")], {
    env,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  process.stderr.write(run.stderr);
  if (run.status !== 0) throw new Error(`scripts/pulumi-toolchain.sh exited ${run.status}`);
  const steps = [...run.stderr.matchAll(/^toolchain: (.+) \(([\d.]+) s\)$/gm)].map((m) => ({
    what: m[1],
    seconds: Number(m[2]),
  }));
  return { seconds: (Date.now() - start) / 1000, steps, dir: run.stdout.trim() };
}

function megabytes(dir: string): number {
  const du = spawnSync("du", ["-sm", dir], { encoding: "utf8" });
  return Number(du.stdout.split("\t")[0]);
}

function main(): void {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "hs-toolchain-bench-"));
  const env = {
    ...process.env,
    HA_STACK_CACHE: path.join(scratch, "cache"),
    GOMODCACHE: path.join(scratch, "gomod"),
    GOCACHE: path.join(scratch, "gobuild"),
  };
  try {
    const cold = toolchain(env);
    const cached = toolchain(env);
    const figures: Figure[] = [
      {
        name: "cold, in all",
        value: `${(cold.seconds / 60).toFixed(1)} min`,
        note: "empty Go caches",
      },
      ...cold.steps.map((s) => ({ name: `cold: ${s.what}`, value: `${s.seconds.toFixed(1)} s` })),
      { name: "cached, in all", value: `${cached.seconds.toFixed(1)} s`, note: "the second run" },
      {
        name: "toolchain directory",
        value: `${megabytes(cold.dir)} MB`,
        note: "CLI, 3 plugins, 2 schemas",
      },
      {
        name: "Go module cache",
        value: `${megabytes(env.GOMODCACHE)} MB`,
        note: "GOMODCACHE after the build",
      },
      {
        name: "Go build cache",
        value: `${megabytes(env.GOCACHE)} MB`,
        note: "GOCACHE after the build",
      },
    ];
    report(
      "Building the Pulumi toolchain",
      "npm run bench:toolchain",
      figures,
      "Every module through the machine's Go module proxy (its TLS-intercepting proxy in between); " +
        "builds under `nice`, while the machine did whatever else it was doing (see the load average).",
    );
  } finally {
    // The module cache is read-only by design.
    spawnSync("chmod", ["-R", "u+w", scratch]);
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

main();
