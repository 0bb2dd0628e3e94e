// One timed evaluation of index.ts under mock mode; reports to the parent: ownMs (the program's
// own code: index.ts and the components run to completion, declaring every resource), ms (until
// the SDK has registered them all) and the number of resources.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";

const { waitForRPCs } = settings as unknown as { waitForRPCs(): Promise<void> };

async function main(): Promise<void> {
  let resources = 0;
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources++;
        return { id: `${args.name}-id`, state: { ...args.inputs, result: "x".repeat(32) } };
      },
      call: (args) => {
        throw new Error(`unexpected call ${args.token}`);
      },
    },
    "ha-stack",
    "bench",
  );
  pulumi.runtime.setAllConfig({
    "ha-stack:replicas": process.argv[2],
    "ha-stack:maxReplicas": process.argv[2],
  });
  // Load the SDK and providers first, so the figure is the program's own time.
  await import("@pulumi/docker");
  await import("@pulumi/random");
  await import("@pulumi/command");
  // tsx keeps compiled modules in its disk cache, so after the first run this is not compile time.
  // "nostack": the SDK captures a stack trace per resource (its source position), which costs
  // most of the time when source maps are on; this isolates the program's own work.
  if (process.argv[3] === "nostack") Error.stackTraceLimit = 0;
  const start = performance.now();
  // index.ts exports the program as a function (`export =`), which an import hands over as
  // the module's default.
  const module = (await import(path.resolve(__dirname, "../index.ts"))) as {
    default: () => Record<string, unknown>;
  };
  const program = module.default();
  const ownMs = performance.now() - start;
  await Promise.all(
    Object.values(program).map(
      (v) => new Promise((r) => (pulumi.output(v as any) as pulumi.Output<unknown>).apply(r)),
    ),
  );
  await waitForRPCs();
  process.send!({ ms: performance.now() - start, ownMs, resources });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
