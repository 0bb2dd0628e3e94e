// Stacks of the real program on the real Pulumi engine (CLI and plugins: ops/engine.ts) and the
// real Docker engine, for the e2e tests and benches: up, preview, refresh, down, destroy. Each
// stack's state lives in a file backend under the temporary directory (HA_STACK_E2E_STATE
// overrides it), its config in a file of its own there (`--config-file`), so tests write nothing
// into the program directory; Pulumi.yaml's defaults apply as in any `pulumi up`.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as automation from "@pulumi/pulumi/automation";
import yaml from "js-yaml";
import { removeStackVolumes } from "./docker";
import { engine, openStack, plainOutputs, PROGRAM_DIR } from "./engine";

export { PROGRAM_DIR };

/** One resource step the engine took, in the order the steps finished. */
export interface Step {
  readonly op: "same" | "create" | "update" | "delete" | "refresh" | "read";
  readonly urn: string;
  /** `replace`: the create of a replacement; `replaced`: the delete of the resource it replaced. */
  readonly reason?: "replace" | "replaced";
  /** Top-level properties whose change caused the step (update and replace). */
  readonly diffs?: readonly string[];
}

export interface UpResult {
  /** The stack's outputs (secret ones as plain values). */
  readonly outputs: Record<string, unknown>;
  /** Names of outputs whose value is secret. */
  readonly secretOutputs: string[];
  readonly steps: Step[];
  /** The engine's own count per operation (`same`, `create`, `update`, `replace`, `delete`). */
  readonly summary: Record<string, number>;
}

/** A failed engine run: its errors as the engine reported them, and the steps it had taken. */
export class StackError extends Error {
  constructor(
    message: string,
    readonly result: UpResult,
  ) {
    super(message);
    this.name = "StackError";
  }
}

export interface Stack {
  readonly name: string;
  readonly url: string;
  readonly result: UpResult;
  /** Docker container name of a node (`pg-0`, `app-2`, `nginx`, …). */
  container(node: string): string;
}

export interface RunOptions {
  /** Refresh the state from Docker before the run (`--refresh`). */
  readonly refresh?: boolean;
  /**
   * After a successful `up`, a `preview --expect-no-changes` that must find nothing to do: a
   * spurious diff (a default the provider rewrites, an unstable input) fails the `up`.
   * @default true
   */
  readonly expectNoChangesAfter?: boolean;
  /** Where the engine's output goes, line by line. @default stderr, prefixed with the stack */
  readonly log?: (line: string) => void;
}

const STATE_DIR = process.env.HA_STACK_E2E_STATE ?? path.join(os.tmpdir(), "ha-stack-e2e");
const PASSPHRASE = "ha-stack-e2e";

/** The stack, selected or created, with its config file. */
async function select(name: string, programDir: string) {
  fs.mkdirSync(STATE_DIR, { recursive: true });
  const stack = await openStack({
    stack: name,
    programDir,
    backendUrl: `file://${STATE_DIR}`,
    passphrase: PASSPHRASE,
    engine: await engine(),
  });
  return { stack, configFile: path.join(STATE_DIR, `Pulumi.${name}.yaml`) };
}

/**
 * Writes the stack's config: `key` (the project's namespace) or `ns:key` → value, over
 * Pulumi.yaml's defaults. The engine's encryption salt, once written, is kept.
 */
function writeConfig(file: string, config: Record<string, string>): void {
  const previous = fs.existsSync(file)
    ? ((yaml.load(fs.readFileSync(file, "utf8")) ?? {}) as Record<string, unknown>)
    : {};
  const namespaced = Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k.includes(":") ? k : `ha-stack:${k}`, v]),
  );
  fs.writeFileSync(file, yaml.dump({ ...previous, config: namespaced }));
}

/** Collects the steps of a run from its engine events, and its error diagnostics. */
function recorder(name: string, options: RunOptions) {
  const steps: Step[] = [];
  const errors: string[] = [];
  const write = options.log ?? ((line: string) => process.stderr.write(`[${name}] ${line}\n`));
  let pending = "";
  return {
    steps,
    errors,
    onOutput(chunk: string) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") write(line);
    },
    onEvent(event: automation.EngineEvent) {
      const step = event.resOutputsEvent && stepOf(event.resOutputsEvent.metadata);
      if (step) steps.push(step);
      const d = event.diagnosticEvent;
      if (d && d.severity === "error") errors.push(d.message.trim());
    },
  };
}

function stepOf(m: automation.StepEventMetadata): Step | undefined {
  const base = { urn: m.urn, ...(m.diffs?.length ? { diffs: m.diffs } : {}) };
  switch (m.op) {
    case "same":
    case "create":
    case "update":
    case "delete":
    case "refresh":
    case "read":
      return { op: m.op, ...base };
    case "create-replacement":
      return { op: "create", reason: "replace", ...base };
    case "delete-replaced":
      return { op: "delete", reason: "replaced", ...base };
    default:
      return undefined; // `replace` marks a replacement whose create and delete are steps of their own
  }
}

async function run<T>(
  name: string,
  options: RunOptions,
  operation: (callbacks: ReturnType<typeof recorder>) => Promise<T>,
): Promise<T> {
  const callbacks = recorder(name, options);
  try {
    return await operation(callbacks);
  } catch (error) {
    const message = callbacks.errors.length
      ? callbacks.errors.join("\n")
      : (error as Error).message.split("\n").slice(-20).join("\n");
    throw new StackError(`${name}: ${message}`, {
      outputs: {},
      secretOutputs: [],
      steps: callbacks.steps,
      summary: {},
    });
  }
}

/**
 * `pulumi up` of stack `name` with the test base image (BASE_IMAGE) and `config`.
 * `programDir` may be a copy of the program (e.g. with an extra migration: a new app image).
 */
export async function upStack(
  name: string,
  config: Record<string, string>,
  programDir = PROGRAM_DIR,
  options: RunOptions = {},
): Promise<Stack> {
  const { stack, configFile } = await select(name, programDir);
  writeConfig(configFile, {
    baseImage: process.env.BASE_IMAGE ?? "ha-stack-base:trixie",
    ...config,
  });
  const result = await run(name, options, async (callbacks) => {
    const up = await stack.up({
      configFile,
      refresh: options.refresh,
      color: "never",
      onOutput: callbacks.onOutput,
      onEvent: callbacks.onEvent,
    });
    return {
      ...plainOutputs(up.outputs),
      steps: callbacks.steps,
      summary: up.summary.resourceChanges ?? {},
    };
  });
  if (options.expectNoChangesAfter ?? true) {
    await previewStack(name, { ...options, programDir, refresh: false, expectNoChanges: true });
  }
  // App containers carry a generation suffix (components/app.ts); the `replicas` output lists
  // their names, leader first.
  const replicas = (result.outputs.replicas ?? []) as string[];
  return {
    name,
    url: String(result.outputs.url),
    result,
    container: (node) => {
      const app = /^app-(\d+)$/.exec(node);
      return (app && replicas[Number(app[1])]) || `ha-stack-${name}-${node}`;
    },
  };
}

export interface PreviewResult {
  /** The engine's count per operation the update would take. */
  readonly changes: Record<string, number>;
  /** Resources that would change (anything but `same`), as `op urn`. */
  readonly changed: string[];
  readonly stdout: string;
}

/**
 * `pulumi preview` of the stack with its current config (or `config`, written first).
 * With `expectNoChanges`, a planned change fails it (StackError), as `--expect-no-changes` does.
 */
export async function previewStack(
  name: string,
  options: RunOptions & {
    config?: Record<string, string>;
    programDir?: string;
    expectNoChanges?: boolean;
  } = {},
): Promise<PreviewResult> {
  const { stack, configFile } = await select(name, options.programDir ?? PROGRAM_DIR);
  if (options.config) {
    writeConfig(configFile, {
      baseImage: process.env.BASE_IMAGE ?? "ha-stack-base:trixie",
      ...options.config,
    });
  }
  const changed: string[] = [];
  const preview = run(name, options, async (callbacks) => {
    const preview = await stack.preview({
      configFile,
      refresh: options.refresh,
      expectNoChanges: options.expectNoChanges,
      diff: true,
      color: "never",
      onOutput: callbacks.onOutput,
      onEvent: (event) => {
        callbacks.onEvent(event);
        const m = event.resourcePreEvent?.metadata;
        if (m && m.op !== "same") {
          changed.push(`${m.op} ${m.urn}${m.diffs?.length ? ` [${m.diffs.join(", ")}]` : ""}`);
        }
      },
    });
    return { changes: preview.changeSummary, changed, stdout: preview.stdout };
  });
  return preview.catch((error: unknown) => {
    if (!(error instanceof StackError) || changed.length === 0) throw error;
    throw new StackError(`${name}: the preview found changes: ${changed.join("; ")}`, error.result);
  });
}

/** `pulumi refresh` of the stack: the state read back from Docker. Returns what drifted. */
export async function refreshStack(
  name: string,
  programDir = PROGRAM_DIR,
  options: RunOptions = {},
): Promise<Record<string, number>> {
  const { stack, configFile } = await select(name, programDir);
  return run(name, options, async (callbacks) => {
    const refresh = await stack.refresh({
      configFile,
      color: "never",
      onOutput: callbacks.onOutput,
      onEvent: callbacks.onEvent,
    });
    return refresh.summary.resourceChanges ?? {};
  });
}

/** `pulumi destroy` and `pulumi stack rm`: retained resources (data volumes) stay in Docker. */
export async function downStack(
  name: string,
  programDir = PROGRAM_DIR,
  options: RunOptions = {},
): Promise<void> {
  const { stack, configFile } = await select(name, programDir);
  await run(name, options, (callbacks) =>
    stack.destroy({
      configFile,
      color: "never",
      onOutput: callbacks.onOutput,
      onEvent: callbacks.onEvent,
    }),
  );
  await stack.workspace.removeStack(name);
  fs.rmSync(configFile, { force: true });
}

/** `down`, then remove the stack's data volumes too (even retained ones): nothing of it is left. */
export async function destroyStack(name: string, programDir = PROGRAM_DIR): Promise<void> {
  await downStack(name, programDir);
  await removeStackVolumes(name);
}
