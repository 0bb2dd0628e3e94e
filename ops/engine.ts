// The real Pulumi engine, driven through the Automation API: which CLI runs (the one on PATH, or
// the toolchain scripts/pulumi-toolchain.sh builds from Go modules where Pulumi cannot be
// downloaded), with which environment, and the program as an inline program. Used by `npm run
// up` (scripts/stack.ts) and by every e2e test and bench (ops/stack.ts).
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as automation from "@pulumi/pulumi/automation";

export const PROGRAM_DIR = path.resolve(__dirname, "..");

export interface Engine {
  readonly command: automation.PulumiCommand;
  /** Where the CLI came from, for messages. */
  readonly source: string;
  /** Environment every CLI run gets (PULUMI_HOME and friends for the toolchain). */
  readonly env: Record<string, string>;
}

export interface EngineOptions {
  /** Use a `pulumi` on PATH when there is one (a user's standard install). @default false */
  readonly preferPath?: boolean;
  /** Where the toolchain build's progress lines go. @default inherited stderr */
  readonly quiet?: boolean;
}

let toolchain: Promise<Engine> | undefined;

/**
 * The CLI to run. With `preferPath`, a `pulumi` on PATH runs with the user's own settings (plugins
 * downloaded as usual). Otherwise the toolchain's CLI and plugins, built first when missing (about
 * 11 minutes on 2 cores with empty Go caches; a moment when cached), with plugin downloads and update checks off.
 */
export async function engine(options: EngineOptions = {}): Promise<Engine> {
  if (options.preferPath && onPath("pulumi")) {
    return {
      command: await automation.PulumiCommand.get({ skipVersionCheck: true }),
      source: `pulumi on PATH (${onPath("pulumi")})`,
      env: {},
    };
  }
  toolchain ??= (async () => {
    const dir = execFileSync("bash", [path.join(PROGRAM_DIR, "scripts/pulumi-toolchain.sh")], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", options.quiet ? "ignore" : "inherit"],
    }).trim();
    return {
      command: await automation.PulumiCommand.get({ root: dir }),
      source: `the toolchain in ${dir}`,
      env: toolchainEnv(dir),
    };
  })();
  toolchain.catch(() => (toolchain = undefined));
  return toolchain;
}

/** The environment the toolchain's CLI needs: its plugins, no downloads, no update check. */
export function toolchainEnv(dir: string): Record<string, string> {
  return {
    PULUMI_HOME: dir,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // A pulumi-resource-* on PATH would be used whatever its version.
    PULUMI_IGNORE_AMBIENT_PLUGINS: "true",
  };
}

function onPath(command: string): string | undefined {
  const found = spawnSync("bash", ["-c", `command -v ${command}`], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** The program in `programDir` (its index.ts exports it as a function), as an inline program. */
export async function inlineProgram(programDir: string): Promise<automation.PulumiFn> {
  const main = (await import(path.join(programDir, "index.ts"))) as {
    default: () => Record<string, unknown>;
  };
  return async () => main.default();
}

export interface WorkspaceOptions {
  readonly stack: string;
  /** The directory holding Pulumi.yaml; the CLI and its plugins run there. */
  readonly programDir: string;
  /** `file://…` state backend. */
  readonly backendUrl: string;
  /** Passphrase for the stack's secrets. */
  readonly passphrase: string;
  readonly engine: Engine;
}

/** Selects (or creates) the stack, with the program of `programDir` inline. */
export async function openStack(options: WorkspaceOptions): Promise<automation.Stack> {
  const project = /^name:\s*(\S+)/m.exec(
    fs.readFileSync(path.join(options.programDir, "Pulumi.yaml"), "utf8"),
  )?.[1];
  if (project === undefined) throw new Error(`${options.programDir}/Pulumi.yaml names no project`);
  return automation.LocalWorkspace.createOrSelectStack(
    {
      stackName: options.stack,
      projectName: project,
      program: await inlineProgram(options.programDir),
    },
    {
      workDir: options.programDir,
      pulumiCommand: options.engine.command,
      envVars: {
        ...options.engine.env,
        PULUMI_BACKEND_URL: options.backendUrl,
        PULUMI_CONFIG_PASSPHRASE: options.passphrase,
      },
    },
  );
}

/** The outputs of an `up`, plainly, and which of them are secret. */
export function plainOutputs(outputs: automation.OutputMap): {
  outputs: Record<string, unknown>;
  secretOutputs: string[];
} {
  return {
    outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value])),
    secretOutputs: Object.keys(outputs).filter((k) => outputs[k].secret),
  };
}
