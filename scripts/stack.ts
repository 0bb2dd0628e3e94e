// `npm run up` / `npm run preview` / `npm run destroy`: the program through the real Pulumi engine
// (Automation API, inline program), with the state in .pulumi-state/ of the project and no
// account. The engine's own output streams as it runs; `up` ends with the stack's outputs.
//
//   npm run up -- [--stack NAME] [--refresh]
//   npm run preview -- [--stack NAME] [--refresh] [--diff] [--expect-no-changes]
//   npm run destroy -- [--stack NAME]
//
// The CLI is `pulumi` on PATH when there is one, else the toolchain scripts/pulumi-toolchain.sh
// builds from Go modules (once; about half an hour on 2 cores). Config is the stack's own
// (Pulumi.<stack>.yaml): `npm run pulumi -- config set replicas 5`.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { engine, openStack, plainOutputs, PROGRAM_DIR } from "../ops/engine";

/** Pulumi.yaml's default baseImage, which needs Docker Hub. */
const DOCKER_HUB_BASE = "debian:trixie-slim";

const ACTIONS = ["up", "preview", "destroy"] as const;
type Action = (typeof ACTIONS)[number];

function usage(problem: string): never {
  console.error(`${problem}
usage: npm run up -- [--stack NAME] [--refresh]
       npm run preview -- [--stack NAME] [--refresh] [--diff] [--expect-no-changes]
       npm run destroy -- [--stack NAME]`);
  process.exit(2);
}

async function main(): Promise<void> {
  const action = process.argv[2] as Action;
  if (!ACTIONS.includes(action))
    usage(`action is "${action ?? ""}"; allowed: ${ACTIONS.join(", ")}`);
  let flags;
  try {
    flags = parseArgs({
      args: process.argv.slice(3),
      options: {
        stack: { type: "string", default: process.env.STACK ?? "dev" },
        refresh: { type: "boolean", default: false },
        diff: { type: "boolean", default: false },
        "expect-no-changes": { type: "boolean", default: false },
      },
    }).values;
  } catch (error) {
    usage((error as Error).message);
  }
  if (action !== "preview" && (flags.diff || flags["expect-no-changes"])) {
    usage(`--diff and --expect-no-changes are preview's flags, not ${action}'s`);
  }
  if (action === "destroy" && flags.refresh) usage("--refresh is for up and preview");

  // Packages, the Docker engine and the base image (each step quick when done).
  const setup = execFileSync("bash", [path.join(PROGRAM_DIR, "scripts/setup.sh"), "up"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const baseImage = /^baseImage=(.*)$/m.exec(setup)?.[1];

  const found = await engine({ preferPath: true, quiet: false });
  console.error(`${action}: stack ${flags.stack}, ${found.source}`);
  const stateDir = path.join(PROGRAM_DIR, ".pulumi-state");
  fs.mkdirSync(stateDir, { recursive: true });
  let passphrase = process.env.PULUMI_CONFIG_PASSPHRASE;
  if (passphrase === undefined && process.env.PULUMI_CONFIG_PASSPHRASE_FILE === undefined) {
    // A local dev stack: its secrets in state are encrypted with an empty passphrase.
    console.error(
      "note: PULUMI_CONFIG_PASSPHRASE is empty; set it to protect the secrets in .pulumi-state",
    );
    passphrase = "";
  }
  const stack = await openStack({
    stack: flags.stack,
    programDir: PROGRAM_DIR,
    backendUrl: process.env.PULUMI_BACKEND_URL ?? `file://${stateDir}`,
    passphrase: passphrase ?? "",
    engine: found,
  });
  // Only when the stack has no baseImage of its own: the local one when Docker Hub's cannot be
  // had. The CLI lists Pulumi.yaml's default (Docker Hub's image) as the stack's value when the
  // stack sets none, so that value counts as unset.
  const config = await stack.getAllConfig();
  const own = config["ha-stack:baseImage"]?.value ?? DOCKER_HUB_BASE;
  if (own === DOCKER_HUB_BASE && baseImage && baseImage !== DOCKER_HUB_BASE) {
    await stack.setConfig("baseImage", { value: baseImage });
    console.error(`${action}: baseImage set to ${baseImage} (no Docker Hub here)`);
  }

  const stream = { onOutput: (out: string) => process.stdout.write(out), color: "auto" as const };
  switch (action) {
    case "up": {
      const result = await stack.up({ ...stream, refresh: flags.refresh });
      const { outputs, secretOutputs } = plainOutputs(result.outputs);
      console.log("\nOutputs:");
      for (const [key, value] of Object.entries(outputs)) {
        const shown = secretOutputs.includes(key)
          ? "[secret] (npm run pulumi -- stack output --show-secrets)"
          : JSON.stringify(value);
        console.log(`  ${key}: ${shown}`);
      }
      break;
    }
    case "preview":
      await stack.preview({
        ...stream,
        refresh: flags.refresh,
        diff: flags.diff,
        expectNoChanges: flags["expect-no-changes"],
      });
      break;
    case "destroy":
      await stack.destroy(stream);
      break;
  }
}

main().catch((error: unknown) => {
  // The engine has already printed its own account of what failed.
  const message = (error as Error).message ?? String(error);
  console.error(
    `\n${process.argv[2]} failed: ${
      message
        .split("\n")
        .filter((l) => /error/i.test(l))
        .slice(-5)
        .join("\n") || message.split("\n").slice(-5).join("\n")
    }`,
  );
  process.exit(1);
});
