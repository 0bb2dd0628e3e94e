// The set-up and tear-down every whole-stack e2e file shares: a stack of its own brought up
// before the file's tests, and afterwards nothing of it left behind, whatever a failed test left
// (its retained data volumes too).
import { afterAll, beforeAll } from "vitest";
import { destroyStack, PROGRAM_DIR, upStack, type Stack } from "../../../ops/stack";

export interface StackPerFileHooks {
  /** Makes the program directory to deploy, before `up` (a disposable copy). @default the repository */
  readonly programDir?: () => string;
  /** Runs after `up` with the stack: keep it, start what the tests need (a browser, a drill). */
  readonly onUp?: (stack: Stack) => void | Promise<void>;
  /** Runs before `down`: remove what the file made itself (client networks, a browser). */
  readonly beforeDown?: () => Promise<void>;
  /** Runs after `down` with the program directory (remove a copy). */
  readonly afterDown?: (programDir: string) => void;
}

/**
 * Registers the file's `beforeAll` (`up` of stack `name` with `config`, then `onUp`) and
 * `afterAll` (`beforeDown`, `down` with the stack's volumes, `afterDown`). Nothing is torn down
 * if the program directory was never made.
 */
export function stackPerFile(
  name: string,
  config: Record<string, string>,
  hooks: StackPerFileHooks = {},
): void {
  let programDir: string | undefined;
  beforeAll(async () => {
    programDir = hooks.programDir?.() ?? PROGRAM_DIR;
    const stack = await upStack(name, config, programDir);
    await hooks.onUp?.(stack);
  });
  afterAll(async () => {
    if (programDir === undefined) return;
    await hooks.beforeDown?.();
    await destroyStack(name, programDir);
    hooks.afterDown?.(programDir);
  });
}
