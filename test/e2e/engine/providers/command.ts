// Stand-in for @pulumi/command's local.Command: runs create / update / delete with the
// interpreter (default /bin/sh -c, like the provider), in `dir`, with `environment` and `stdin`.
import { spawn } from "node:child_process";
import * as path from "node:path";
import type { ResourceRecord } from "../state";
import type { Props } from "../values";
import { checkKnown, type Provider, type ProviderContext } from "./types";

const INPUTS = [
  "create",
  "update",
  "delete",
  "triggers",
  "environment",
  "stdin",
  "dir",
  "interpreter",
  "logging",
  "addPreviousOutputInEnv",
] as const;

function runCommand(
  command: string,
  inputs: Props,
  programDir: string,
  extraEnv: Record<string, string>,
): Promise<{ stdout: string; stderr: string }> {
  const interpreter = (inputs.interpreter as string[] | undefined) ?? ["/bin/sh", "-c"];
  const cwd = path.resolve(programDir, (inputs.dir as string | undefined) ?? ".");
  const env = {
    ...process.env,
    ...((inputs.environment as Record<string, string> | undefined) ?? {}),
    ...extraEnv,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(interpreter[0], [...interpreter.slice(1), command], { cwd, env });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => stdout.push(d));
    child.stderr.on("data", (d: Buffer) => stderr.push(d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      // The provider trims one trailing newline from each stream.
      const out = Buffer.concat(stdout).toString("utf8").replace(/\n$/, "");
      const err = Buffer.concat(stderr).toString("utf8").replace(/\n$/, "");
      if (code === 0) resolve({ stdout: out, stderr: err });
      else {
        reject(
          new Error(
            `${signal ? `signal ${signal}` : `exit status ${code}`}: running ${JSON.stringify(command)}:\n${out}\n${err}`.trim(),
          ),
        );
      }
    });
    // A command that never reads stdin may exit before it is written: EPIPE is not its failure.
    child.stdin.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") reject(error);
    });
    child.stdin.end((inputs.stdin as string | undefined) ?? "");
  });
}

async function createOrUpdate(
  command: string | undefined,
  inputs: Props,
  ctx: ProviderContext,
  previous?: Props,
): Promise<Props> {
  checkKnown("Command", inputs, INPUTS);
  if (command === undefined) return { ...inputs, stdout: "", stderr: "" };
  ctx.log(`command: ${command}`);
  const env: Record<string, string> = {};
  if (previous !== undefined && inputs.addPreviousOutputInEnv !== false) {
    // Like the provider: only a non-empty previous output is passed on.
    if (previous.stdout) env.PULUMI_COMMAND_STDOUT = String(previous.stdout);
    if (previous.stderr) env.PULUMI_COMMAND_STDERR = String(previous.stderr);
  }
  const { stdout, stderr } = await runCommand(command, inputs, ctx.programDir, env);
  return { ...inputs, stdout, stderr };
}

export function commandProvider(programDir: string): Provider {
  return {
    async create(inputs, ctx) {
      const outputs = await createOrUpdate(inputs.create as string | undefined, inputs, ctx);
      return { id: `${ctx.name}-${Date.now().toString(36)}`, outputs };
    },
    async update(old, inputs, _changed, ctx) {
      const command =
        (inputs.update as string | undefined) ?? (inputs.create as string | undefined);
      return createOrUpdate(command, inputs, ctx, old.outputs);
    },
    async delete(record: ResourceRecord, log) {
      const command = record.inputs.delete as string | undefined;
      if (command === undefined) return;
      log(`command: ${command}`);
      await runCommand(command, record.inputs, programDir, {
        PULUMI_COMMAND_STDOUT: String(record.outputs.stdout ?? ""),
        PULUMI_COMMAND_STDERR: String(record.outputs.stderr ?? ""),
      });
    },
  };
}
