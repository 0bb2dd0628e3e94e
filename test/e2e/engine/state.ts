// What the test engine has made, per stack: `.e2e-state/<stack>.json` in the program directory,
// keyed by URN. Written after every change, so an interrupted run leaves a true record.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Props } from "./values";

export interface ResourceOptions {
  /**
   * The program's explicit choice, `undefined` when it set none (the SDK's
   * `deleteBeforeReplaceDefined`): an explicit value overrides the provider's.
   */
  readonly deleteBeforeReplace: boolean | undefined;
  readonly retainOnDelete: boolean;
  readonly protect: boolean;
  readonly ignoreChanges: string[];
  readonly replaceOnChanges: string[];
}

export interface ResourceRecord {
  readonly urn: string;
  readonly type: string;
  /** Docker id / name, password id, … */
  readonly id: string;
  /** Plain input values (secrets unwrapped; `secretInputs` says which were secret). */
  readonly inputs: Props;
  readonly secretInputs: string[];
  /** Plain output values (inputs plus what the provider computed). */
  readonly outputs: Props;
  readonly secretOutputs: string[];
  /** URNs this resource depends on (`dependsOn` plus the resources its inputs came from). */
  readonly dependencies: string[];
  /** Input name → URNs that input's value came from. */
  readonly propertyDependencies: Record<string, string[]>;
  readonly parent: string;
  readonly options: ResourceOptions;
  /** Created, but a post-create check (`wait`, must_run) failed: Pulumi's "failed to initialize". */
  readonly initErrors?: string[];
  /**
   * The docker provider host it was made on (explicit provider's `host`, or `docker:host`), so
   * `down` and deletes reach the same engine, as Pulumi keeps the provider in the state.
   */
  readonly dockerHost?: string;
  /** The `provider` reference it was registered with (`<urn>::<id>`), empty for the default. */
  readonly provider?: string;
  /** An old copy replaced create-before-delete, still to delete. */
  readonly pendingDelete?: boolean;
}

export interface StackState {
  readonly stack: string;
  /** Keyed by URN; an old copy waiting for deletion is keyed `${urn}#old-<n>`. */
  resources: Record<string, ResourceRecord>;
}

export function statePath(programDir: string, stack: string): string {
  return path.join(programDir, ".e2e-state", `${stack}.json`);
}

export function readState(file: string, stack: string): StackState {
  if (!fs.existsSync(file)) return { stack, resources: {} };
  const state = JSON.parse(fs.readFileSync(file, "utf8")) as StackState;
  if (state.stack !== stack) throw new Error(`${file} holds stack ${state.stack}, not ${stack}`);
  return state;
}

/** Atomic write (temp file + rename); mode 0600 because plain secrets are in it. */
export function writeState(file: string, state: StackState): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/**
 * State keys in the order they must be deleted: a resource before everything it depends on
 * (dependents first). Ties keep reverse creation order.
 */
export function deletionOrder(state: StackState, keys: string[]): string[] {
  const wanted = new Set(keys);
  const byUrn = new Map<string, string[]>();
  for (const key of Object.keys(state.resources)) {
    const urn = state.resources[key].urn;
    byUrn.set(urn, [...(byUrn.get(urn) ?? []), key]);
  }
  // Post-order DFS over dependencies gives "dependencies before dependents"; reverse it.
  const ordered: string[] = [];
  const seen = new Set<string>();
  const visit = (key: string): void => {
    if (seen.has(key)) return;
    seen.add(key);
    const record = state.resources[key];
    for (const dep of [...record.dependencies, record.parent]) {
      for (const depKey of byUrn.get(dep) ?? []) visit(depKey);
    }
    ordered.push(key);
  };
  for (const key of Object.keys(state.resources)) visit(key);
  return ordered.reverse().filter((k) => wanted.has(k));
}
