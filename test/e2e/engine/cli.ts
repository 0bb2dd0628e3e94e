// `npm run e2e:up` / `npm run e2e:down`: the test engine from the command line.
//   tsx test/e2e/engine/cli.ts up|down [--stack e2e] [--config key=value ...] [--dir <program dir>]
import * as path from "node:path";
import { down, EngineError, up } from "./engine";

const USAGE =
  "usage: cli.ts up|down [--stack <name>] [--config key=value ...] [--dir <program dir>]";

function parse(argv: string[]): {
  command: "up" | "down";
  stack: string;
  dir: string;
  config: Record<string, string>;
} {
  const [command, ...rest] = argv;
  if (command !== "up" && command !== "down") throw new Error(USAGE);
  let stack = "e2e";
  let dir = path.resolve(__dirname, "../../..");
  const config: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = rest[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    i++;
    if (flag === "--stack") stack = value;
    else if (flag === "--dir") dir = path.resolve(value);
    else if (flag === "--config") {
      const eq = value.indexOf("=");
      if (eq <= 0) throw new Error(`--config takes key=value (got ${value})`);
      config[value.slice(0, eq)] = value.slice(eq + 1);
    } else throw new Error(`unknown option ${flag}\n${USAGE}`);
  }
  return { command, stack, dir, config };
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  // Ctrl-C: the program run stops starting steps, finishes running ones and reports; wait for it.
  const interrupted = new AbortController();
  process.on("SIGINT", () => {
    process.stderr.write("interrupt: finishing running steps…\n");
    interrupted.abort();
  });
  if (args.command === "down") {
    const { steps } = await down({ stack: args.stack, programDir: args.dir });
    process.stdout.write(
      `deleted ${steps.filter((s) => s.op === "delete").length}, retained ${steps.filter((s) => s.op === "retain").length}\n`,
    );
    return;
  }
  const result = await up({
    stack: args.stack,
    programDir: args.dir,
    config: args.config,
    signal: interrupted.signal,
  });
  const counts = new Map<string, number>();
  for (const step of result.steps) counts.set(step.op, (counts.get(step.op) ?? 0) + 1);
  process.stdout.write(
    `Resources: ${[...counts].map(([op, n]) => `${n} ${op}`).join(", ") || "none"}\nOutputs:\n`,
  );
  for (const [key, value] of Object.entries(result.outputs)) {
    const shown = result.secretOutputs.includes(key) ? "[secret]" : JSON.stringify(value);
    process.stdout.write(`    ${key}: ${shown}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  if (error instanceof EngineError) {
    process.stderr.write(`(state kept: ${error.result.resources.length} resources)\n`);
  }
  process.exit(1);
});
