// One timed evaluation of index.ts under mock mode; reports { ms, resources } to the parent.
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
  pulumi.runtime.setAllConfig({ "ha-stack:replicas": process.argv[2] });
  // Load the SDK and providers first, so the figure is the program's own time.
  await import("@pulumi/docker");
  await import("@pulumi/random");
  const start = performance.now();
  const program = await import(path.resolve(__dirname, "../index.ts"));
  await Promise.all(
    Object.values(program as Record<string, unknown>).map(
      (v) => new Promise((r) => (pulumi.output(v as any) as pulumi.Output<unknown>).apply(r)),
    ),
  );
  await waitForRPCs();
  process.send!({ ms: performance.now() - start, resources });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
