// Child process of `up`: runs one Pulumi program under the engine monitor, then reports the stack
// outputs, the steps taken and the resulting state as JSON in the result file.
// Usage (internal): tsx run-program.ts <spec.json>
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { Deployment, type Step } from "./deployment";
import { EngineMonitor } from "./monitor";
import { readState, type ResourceRecord } from "./state";
import { plain } from "./values";

// SDK internals without typings: the RPC barrier and the store of monitor features.
/* eslint-disable @typescript-eslint/no-require-imports */
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as {
  waitForRPCs(): Promise<void>;
};
const { getStore } = require("@pulumi/pulumi/runtime/state") as { getStore(): any };
/* eslint-enable @typescript-eslint/no-require-imports */

export interface RunSpec {
  readonly project: string;
  readonly stack: string;
  readonly main: string;
  readonly programDir: string;
  readonly statePath: string;
  readonly resultPath: string;
  readonly config: Record<string, string>;
}

export interface RunResult {
  readonly ok: boolean;
  readonly errors: string[];
  readonly outputs: Record<string, unknown>;
  readonly secretOutputs: string[];
  readonly steps: Step[];
  readonly resources: ResourceRecord[];
}

/** Resolves an exported value (Outputs, promises, arrays, objects) and whether it is secret. */
async function resolveExport(value: unknown): Promise<{ value: unknown; secret: boolean }> {
  if (pulumi.Output.isInstance(value)) {
    const output = value as any;
    const [inner, secret] = await Promise.all([output.promise(), output.isSecret]);
    const nested = await resolveExport(inner);
    return { value: nested.value, secret: secret || nested.secret };
  }
  if (pulumi.Resource.isInstance(value)) {
    return resolveExport((value as pulumi.Resource).urn);
  }
  if (value instanceof Promise) return resolveExport(await value);
  if (Array.isArray(value)) {
    const items = await Promise.all(value.map(resolveExport));
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  if (typeof value === "object" && value !== null) {
    const entries = await Promise.all(
      Object.entries(value).map(async ([k, v]) => [k, await resolveExport(v)] as const),
    );
    return {
      value: Object.fromEntries(entries.map(([k, r]) => [k, r.value])),
      secret: entries.some(([, r]) => r.secret),
    };
  }
  return { value, secret: false };
}

async function main(): Promise<void> {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], "utf8")) as RunSpec;
  process.chdir(spec.programDir);

  const deployment = new Deployment(
    readState(spec.statePath, spec.stack),
    spec.statePath,
    spec.programDir,
    undefined,
    spec.config,
  );
  process.on("SIGINT", () => deployment.cancel("an interrupt (SIGINT)"));
  process.on("SIGTERM", () => deployment.cancel("a termination request (SIGTERM)"));
  // A failed registration rejects outputs nobody awaits; those are reported as the step's error.
  process.on("unhandledRejection", (reason) => deployment.programError(reason));

  pulumi.runtime.setMockOptions(new EngineMonitor(deployment), spec.project, spec.stack, false);
  // What setMocks enables (setMockOptions alone leaves secrets off).
  const store = getStore();
  store.supportsSecrets = true;
  store.supportsResourceReferences = true;
  store.supportsOutputValues = false;
  store.supportsDeletedWith = true;
  store.supportsAliasSpecs = true;
  pulumi.runtime.setAllConfig(spec.config);

  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  let written = false;
  const writeResult = (): boolean => {
    const result: RunResult = {
      ok: !deployment.failed,
      errors: deployment.failed
        ? [
            ...(deployment.interrupted ? [deployment.interrupted] : []),
            ...deployment.errors.map((e) => e.message),
          ]
        : [],
      outputs: plain(outputs) as Record<string, unknown>,
      secretOutputs,
      steps: deployment.steps,
      resources: Object.values(deployment.state.resources),
    };
    fs.writeFileSync(spec.resultPath, JSON.stringify(result, null, 2));
    written = true;
    return result.ok;
  };
  // After a failed step, outputs of resources that depend on it can stay pending for good (the
  // SDK never resolves them), so the event loop drains while main still waits: report the run
  // with what it did and the errors it met, as the Pulumi CLI does when a step fails.
  process.once("beforeExit", () => {
    if (written) return;
    deployment.programError(
      new Error("the program stopped waiting for resources that depend on a failed one"),
    );
    writeResult();
    process.exitCode = 1;
  });
  try {
    const program = (await import(spec.main)) as Record<string, unknown>;
    const exported = Object.entries(program).filter(([k]) => k !== "default" && k !== "__esModule");
    const settled = await Promise.allSettled(exported.map(([, v]) => resolveExport(v)));
    settled.forEach((result, i) => {
      const key = exported[i][0];
      if (result.status === "fulfilled") {
        outputs[key] = result.value.value;
        if (result.value.secret) secretOutputs.push(key);
      } else {
        deployment.programError(result.reason);
      }
    });
  } catch (error) {
    deployment.programError(error);
  }
  try {
    await waitForRPCs();
  } catch (error) {
    deployment.programError(error);
  }
  await deployment.settle();
  if (!deployment.failed) {
    try {
      await deployment.finish();
    } catch (error) {
      deployment.programError(error);
    }
  }
  process.exit(writeResult() ? 0 : 1);
}

main().catch((error) => {
  process.stderr.write(`test engine crashed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(2);
});
