// Runs the real program (index.ts) under the Pulumi SDK's mock mode with a monitor that keeps
// every RegisterResourceRequest, so tests can assert inputs, dependency edges and options.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as settings from "@pulumi/pulumi/runtime/settings";
import * as state from "@pulumi/pulumi/runtime/state";

// Internal to the SDK (stripped from its typings): waitForRPCs resolves once every outstanding
// RPC is done; getStore holds the feature flags the monitor is said to support.
const { waitForRPCs } = settings as unknown as { waitForRPCs(): Promise<void> };
const { getStore } = state as unknown as { getStore(): Record<string, unknown> };

export interface Registration {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly custom: boolean;
  readonly parent: string;
  /** Inputs with secret markers removed. */
  readonly inputs: Record<string, any>;
  /** Top-level input names whose value holds a secret anywhere inside it. */
  readonly secretInputs: string[];
  /** URNs this resource waits for: `dependsOn` plus the resources its inputs come from. */
  readonly dependencies: string[];
  readonly deleteBeforeReplace: boolean;
  readonly retainOnDelete: boolean;
  readonly ignoreChanges: string[];
  /** URNs this resource had before (its `aliases`, each resolved to a full URN). */
  readonly aliases: string[];
  /** The explicit provider reference (`urn::id`), empty for the default provider. */
  readonly provider: string;
}

export interface ProgramRun {
  readonly registrations: Registration[];
  readonly outputs: Record<string, unknown>;
  /** Names of exported outputs whose value is secret. */
  readonly secretOutputs: string[];
}

/** The `result` of the mocked RandomPassword `name`: distinct per password, so tests see which went where. */
export function mockPassword(name: string, length = 32): string {
  return `${name}-`.padEnd(length, "x").slice(0, length);
}

/** The `sha256Digest` every mocked RegistryImage reports. */
export const MOCK_DIGEST = `sha256:${"0".repeat(64)}`;

/** Mocks that behave like the providers for the outputs the program reads. */
const mocks: pulumi.runtime.Mocks = {
  newResource(args) {
    const state: Record<string, unknown> = { ...args.inputs };
    if (args.type === "random:index/randomPassword:RandomPassword") {
      state.result = mockPassword(args.name, args.inputs.length ?? 16);
    }
    if (args.type === "docker:index/registryImage:RegistryImage") {
      state.sha256Digest = MOCK_DIGEST;
    }
    return { id: `${args.name}-id`, state };
  },
  call(args) {
    throw new Error(`unexpected provider function call ${args.token}`);
  },
};

class RecordingMonitor extends MockMonitor {
  readonly registrations: Registration[] = [];

  async registerResource(req: any, callback: (err: any, resp?: any) => void): Promise<void> {
    // The same URN MockMonitor.newUrn (private) gives the resource.
    const newUrn = (parent: string, type: string, name: string): string =>
      (this as any).newUrn(parent, type, name);
    const urn = newUrn(req.getParent(), req.getType(), req.getName());
    const aliases = (req.getAliasesList() as any[]).map((alias): string => {
      if (alias.hasUrn()) return alias.getUrn();
      const spec = alias.getSpec();
      const parent = spec.getNoparent() ? "" : spec.getParenturn() || req.getParent();
      return newUrn(parent, spec.getType() || req.getType(), spec.getName() || req.getName());
    });
    this.registrations.push({
      type: req.getType(),
      name: req.getName(),
      urn,
      custom: req.getCustom(),
      parent: req.getParent(),
      ...unwrapSecrets(pulumi.runtime.deserializeProperties(req.getObject())),
      dependencies: req.getDependenciesList(),
      deleteBeforeReplace: req.getDeletebeforereplace(),
      retainOnDelete: req.getRetainondelete(),
      ignoreChanges: req.getIgnorechangesList(),
      aliases,
      provider: req.getProvider(),
    });
    return super.registerResource(req, callback);
  }
}

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function isSecretValue(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" && value !== null && (value as any)[SECRET_SIG_KEY] === SECRET_SIG
  );
}

function containsSecret(value: unknown): boolean {
  if (isSecretValue(value)) return true;
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsSecret);
  return false;
}

function unwrap(value: unknown): unknown {
  if (isSecretValue(value)) return unwrap(value.value);
  if (Array.isArray(value)) return value.map(unwrap);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}

function unwrapSecrets(inputs: Record<string, unknown>): {
  inputs: Record<string, any>;
  secretInputs: string[];
} {
  return {
    inputs: unwrap(inputs) as Record<string, any>,
    secretInputs: Object.keys(inputs).filter((key) => containsSecret(inputs[key])),
  };
}

async function resolve(value: unknown): Promise<{ value: unknown; secret: boolean }> {
  if (pulumi.Output.isInstance(value)) {
    const output = value as pulumi.Output<unknown>;
    const [inner, secret] = await Promise.all([
      new Promise((r) => output.apply(r)),
      (output as any).isSecret as Promise<boolean>,
    ]);
    const nested = await resolve(inner);
    return { value: nested.value, secret: secret || nested.secret };
  }
  if (Array.isArray(value)) {
    const items = await Promise.all(value.map(resolve));
    return { value: items.map((i) => i.value), secret: items.some((i) => i.secret) };
  }
  return { value, secret: false };
}

function installMonitor(stack: string): RecordingMonitor {
  const monitor = new RecordingMonitor(mocks);
  pulumi.runtime.setMockOptions(monitor, "ha-stack", stack, false);
  // What setMocks turns on for its own monitor (setMockOptions resets them): without these the
  // SDK strips secrets and resource references before the monitor sees them.
  Object.assign(getStore(), {
    supportsSecrets: true,
    supportsResourceReferences: true,
    supportsDeletedWith: true,
    supportsAliasSpecs: true,
  });
  return monitor;
}

/**
 * Runs `build` (one component's constructor) under the recording monitor and waits until its
 * registrations settle: what it threw, and what it had declared.
 */
export async function construct(
  build: () => unknown,
  stack = "unit",
): Promise<{ error: unknown; registrations: Registration[] }> {
  const monitor = installMonitor(stack);
  let error: unknown;
  try {
    build();
  } catch (thrown) {
    error = thrown;
  }
  await waitForRPCs();
  return { error, registrations: monitor.registrations };
}

/**
 * Runs the program (index.ts's function) with the given `ha-stack:*` config (project defaults are
 * NOT applied by mock mode, exactly as with the real SDK under test).
 */
export async function runProgram(
  config: Record<string, string>,
  stack = "unit",
): Promise<ProgramRun> {
  const monitor = installMonitor(stack);
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(config).map(([k, v]) => [`ha-stack:${k}`, v])),
  );
  let program: Record<string, unknown>;
  try {
    // index.ts exports the program as a function (`export =`), seen here as the default export.
    const main = (await import(path.resolve(__dirname, "../../index.ts"))) as {
      default: () => Record<string, unknown>;
    };
    program = main.default();
  } catch (error) {
    throw new ProgramError(error as Error, monitor.registrations);
  }
  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  for (const [key, value] of Object.entries(program)) {
    const resolved = await resolve(value);
    outputs[key] = resolved.value;
    if (resolved.secret) secretOutputs.push(key);
  }
  await waitForRPCs();
  return { registrations: monitor.registrations, outputs, secretOutputs };
}

/** The program threw; `registrations` says what it had declared by then. */
export class ProgramError extends Error {
  constructor(
    cause: Error,
    readonly registrations: Registration[],
  ) {
    super(cause.message);
  }
}

/** Registrations of one resource type. */
export function ofType(run: ProgramRun, type: string): Registration[] {
  return run.registrations.filter((r) => r.type === type);
}

export const CONTAINER = "docker:index/container:Container";
export const NETWORK = "docker:index/network:Network";
export const VOLUME = "docker:index/volume:Volume";
export const IMAGE = "docker:index/remoteImage:RemoteImage";
export const PUSH = "docker:index/registryImage:RegistryImage";
export const PASSWORD = "random:index/randomPassword:RandomPassword";
export const COMMAND = "command:local:Command";

/** The container registration whose physical name is `${prefix}-${node}`. */
export function container(run: ProgramRun, node: string): Registration {
  const found = ofType(run, CONTAINER).find((r) => r.inputs.hostname === node);
  if (found === undefined) throw new Error(`no container ${node}`);
  return found;
}

/** Hostnames of the containers a resource depends on (directly); a container by hostname. */
export function dependsOnNodes(run: ProgramRun, node: string | Registration): string[] {
  const byUrn = new Map(run.registrations.map((r) => [r.urn, r]));
  const from = typeof node === "string" ? container(run, node) : node;
  return from.dependencies
    .map((urn) => byUrn.get(urn))
    .filter((r): r is Registration => r !== undefined && r.type === CONTAINER)
    .map((r) => r.inputs.hostname as string)
    .sort();
}
