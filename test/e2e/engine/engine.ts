// ha-stack's e2e TEST ENGINE: a small stand-in for the Pulumi engine and the docker / random /
// command providers, for machines where the Pulumi CLI and its plugins cannot be installed.
// Users run the real `pulumi up`; this exists so the e2e tests can run the real program.
//
// How faithful it is:
// - Registrations are ordered by the SDK itself (mock mode): a resource is registered only after
//   the resources it depends on (dependsOn and inputs) have returned. Independent ones run at once.
// - Each registration is diffed against `.e2e-state/<stack>.json`: no change → same (nothing
//   done, recorded outputs returned); in-place-updatable change → update; else replace.
//   ForceNew/updatable per input comes from the providers' schemas (schema.ts, sources cited).
//   ignoreChanges (top level) and replaceOnChanges are honoured.
// - Replace is delete-before-replace when the resource asks for it, or when it sets nothing and
//   the provider does (docker Container); an explicit `deleteBeforeReplace: false` overrides the
//   provider (as Pulumi's step generator does): create-before-delete, the old copy deleted at
//   the end.
//   Before a delete-first replace, dependents whose ForceNew inputs come from it are deleted.
// - After a successful run, resources no longer declared are deleted, dependents first;
//   retainOnDelete ones only leave the state; protect blocks delete and replace. On a failed run
//   nothing is deleted (as in Pulumi). `down` deletes everything in reverse dependency order.
// - Containers: uploads copied in before start; `wait` polls health until healthy within
//   waitTimeout, at creation only (a container that turns unhealthy later is not "fixed", and
//   a later run does not recreate it unless its inputs change). A container created but failed
//   to start or become healthy stays in state with initErrors (Pulumi's "failed to initialize";
//   the next run updates it, it does not recreate it). Delete = `docker rm -f`, preceded by a
//   stop only when destroyGraceSeconds > 0 (like the provider: stopTimeout alone is not used).
// - Docker's own errors (name conflict, port already allocated) are the step's error verbatim;
//   a failed step stops new steps, in-flight ones finish, the run exits non-zero.
// - Ctrl-C: no new steps; health waits stop; everything created so far is in the state file.
//
// - Docker provider host: stack config `docker:host` (default provider) or an explicit
//   `new docker.Provider(name, { host })` passed as the `provider` option; `tcp://addr:port` or
//   `unix:///path`. Each resource records its host, so deletes and `down` reach the same engine; a
//   changed host replaces the resource. Swarm: Service (convergeConfig waits, rollback and
//   non-convergence failures as kreuzwerker's), Secret, ServiceConfig; Image push (skipPush false).
//
// What it does NOT do: refresh or drift detection (a Docker object removed by hand still counts
// as existing; deleting a missing object is not an error), plugins, providers other than docker's
// host setting (TLS, ssh, registryAuth),
// parallelism limits, preview / diff display, stack outputs history, state encryption (the
// state file holds secrets in plain text, mode 0600, gitignored), BuildKit (images build with
// the classic builder), RandomPassword bcryptHash, reading existing resources (`.get`).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { readProjectConfig } from "./config";
import { Deployment, type Step } from "./deployment";
import type { RunResult, RunSpec } from "./run-program";
import { readState, statePath, type ResourceRecord } from "./state";

export interface UpOptions {
  /** Stack name: names the state file and what `pulumi.getStack()` returns. */
  readonly stack: string;
  /** The directory holding Pulumi.yaml (and Pulumi.<stack>.yaml). */
  readonly programDir: string;
  /** Config overrides, `key` (project namespace implied) or `ns:key` → value. */
  readonly config?: Record<string, string>;
  /** Where progress lines go. @default process.stderr */
  readonly log?: (line: string) => void;
  /** Aborting it interrupts the run like Ctrl-C (SIGINT to the program run). */
  readonly signal?: AbortSignal;
}

export interface UpResult {
  /** The program's exports, resolved (secret ones included as plain values). */
  readonly outputs: Record<string, unknown>;
  /** Names of exports whose value is secret. */
  readonly secretOutputs: string[];
  /** What the run did, in order. */
  readonly steps: Step[];
  /** Every resource in the state after the run. */
  readonly resources: ResourceRecord[];
}

/** An `up` that failed; `result` still tells what was done and what the state holds. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly result: UpResult,
  ) {
    super(message);
  }
}

const defaultLog = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Runs the program once (a fresh child process) and applies it to the Docker engine. */
export async function up(opts: UpOptions): Promise<UpResult> {
  const programDir = path.resolve(opts.programDir);
  const log = opts.log ?? defaultLog;
  const project = readProjectConfig(programDir, opts.stack, opts.config);
  for (const key of project.skippedSecure)
    log(`note: secure config ${key} is not decrypted; skipped`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "hs-eng-run-"));
  const spec: RunSpec = {
    project: project.project,
    stack: opts.stack,
    main: project.main,
    programDir,
    statePath: statePath(programDir, opts.stack),
    resultPath: path.join(work, "result.json"),
    config: project.config,
  };
  fs.writeFileSync(path.join(work, "spec.json"), JSON.stringify(spec));
  log(`test engine: up ${project.project}/${opts.stack} (${programDir})`);
  try {
    const exit = await new Promise<{ code: number | null; signal: string | null }>(
      (resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            // tsx's loader, by absolute URL so a program directory outside this repo works too.
            "--import",
            pathToFileURL(require.resolve("tsx")).href,
            path.join(__dirname, "run-program.ts"),
            path.join(work, "spec.json"),
          ],
          { cwd: programDir, stdio: ["ignore", "pipe", "pipe"] },
        );
        const forward = (chunk: Buffer): void => {
          for (const line of chunk.toString("utf8").split("\n")) if (line !== "") log(line);
        };
        child.stdout.on("data", forward);
        child.stderr.on("data", forward);
        const interrupt = (): void => {
          child.kill("SIGINT");
        };
        opts.signal?.addEventListener("abort", interrupt, { once: true });
        child.on("error", reject);
        child.on("close", (code, signal) => {
          opts.signal?.removeEventListener("abort", interrupt);
          resolve({ code, signal });
        });
      },
    );
    if (!fs.existsSync(spec.resultPath)) {
      throw new Error(
        exit.signal === "SIGINT"
          ? "interrupted before the program run started; nothing was changed"
          : `test engine run ended without a result (exit ${exit.code ?? exit.signal}); see the log above`,
      );
    }
    const result = JSON.parse(fs.readFileSync(spec.resultPath, "utf8")) as RunResult;
    const upResult: UpResult = {
      outputs: result.outputs,
      secretOutputs: result.secretOutputs,
      steps: result.steps,
      resources: result.resources,
    };
    if (!result.ok) throw new EngineError(result.errors.join("\n"), upResult);
    return upResult;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export interface DownOptions {
  readonly stack: string;
  readonly programDir: string;
  readonly log?: (line: string) => void;
}

/** Deletes every resource of the stack in reverse dependency order (retainOnDelete: state only). */
export async function down(opts: DownOptions): Promise<{ steps: Step[] }> {
  const programDir = path.resolve(opts.programDir);
  const file = statePath(programDir, opts.stack);
  const log = opts.log ?? defaultLog;
  log(`test engine: down ${opts.stack} (${programDir})`);
  const deployment = new Deployment(readState(file, opts.stack), file, programDir, log);
  await deployment.destroy();
  return { steps: deployment.steps };
}

/** The recorded state of a stack (empty when never deployed). */
export function stackState(programDir: string, stack: string): ResourceRecord[] {
  return Object.values(readState(statePath(path.resolve(programDir), stack), stack).resources);
}
