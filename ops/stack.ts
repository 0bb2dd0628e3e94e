// A stack of the real program on the real Docker engine: up, down, and destroy (down plus its
// data volumes). The one module of ops/ that reaches into test/: stacks are brought up by the
// test engine (test/e2e/engine), the stand-in for the Pulumi engine until the Automation API can
// drive a real one here; swapping it is a change to this file only.
import * as path from "node:path";
import { down, up, type UpResult } from "../test/e2e/engine/engine";
import { removeStackVolumes } from "./docker";

export const PROGRAM_DIR = path.resolve(__dirname, "..");

export interface Stack {
  readonly name: string;
  readonly url: string;
  readonly result: UpResult;
  /** Docker container name of a node (`pg-0`, `app-2`, `nginx`, …). */
  container(node: string): string;
}

/**
 * `up` with the test base image (BASE_IMAGE) and the given config; returns the stack's URL.
 * `programDir` may be a copy of the program (e.g. with an extra migration: a new app image).
 */
export async function upStack(
  name: string,
  config: Record<string, string>,
  programDir = PROGRAM_DIR,
): Promise<Stack> {
  const result = await up({
    stack: name,
    programDir,
    config: { baseImage: process.env.BASE_IMAGE ?? "ha-stack-base:trixie", ...config },
  });
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

export async function downStack(name: string, programDir = PROGRAM_DIR): Promise<void> {
  await down({ stack: name, programDir });
}

/** `down`, then remove the stack's data volumes too (even retained ones): nothing of it is left. */
export async function destroyStack(name: string, programDir = PROGRAM_DIR): Promise<void> {
  await downStack(name, programDir);
  await removeStackVolumes(name);
}
