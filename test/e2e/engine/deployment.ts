// The engine's step logic: each registration is diffed against the recorded state and becomes
// same / create / update / replace; what the program no longer declares is deleted at the end.
import * as crypto from "node:crypto";
import { commandProvider } from "./providers/command";
import {
  containerProvider,
  imageProvider,
  networkProvider,
  volumeProvider,
} from "./providers/docker";
import { randomPasswordProvider } from "./providers/random";
import { secretProvider, serviceConfigProvider, serviceProvider } from "./providers/swarm";
import { InitError, type Created, type Provider, type ProviderContext } from "./providers/types";
import {
  changeKind,
  COMMAND,
  CONTAINER,
  IMAGE,
  NETWORK,
  PROVIDER_DOCKER,
  providerDeletesBeforeReplace,
  RANDOM_PASSWORD,
  SECRET,
  secretOutputs,
  SERVICE,
  SERVICE_CONFIG,
  VOLUME,
} from "./schema";
import {
  deletionOrder,
  writeState,
  type ResourceOptions,
  type ResourceRecord,
  type StackState,
} from "./state";
import { changedKeys, unwrapInputs, withSecrets, type Props } from "./values";

/** One RegisterResourceRequest, as the monitor hands it over. */
export interface Registration {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly custom: boolean;
  readonly parent: string;
  /** The `provider` option as the SDK sends it: `<provider urn>::<provider id>`, or "". */
  readonly provider?: string;
  /** Inputs as the SDK sent them (secret markers still in place). */
  readonly inputs: Props;
  readonly dependencies: string[];
  readonly propertyDependencies: Record<string, string[]>;
  readonly options: ResourceOptions;
}

export type StepOp = "same" | "create" | "update" | "delete" | "retain";

export interface Step {
  readonly op: StepOp;
  readonly urn: string;
  readonly type: string;
  readonly id: string;
  /** Why: "replace" (part of a replacement), "removed" (no longer declared), "destroy", … */
  readonly reason?: string;
  /** Top-level inputs that changed (update / replace). */
  readonly changed?: string[];
}

export interface RegisterResult {
  readonly id: string;
  /** Outputs with secret markers, ready for the SDK. */
  readonly outputs: Props;
}

export class Deployment {
  readonly steps: Step[] = [];
  readonly errors: Error[] = [];
  private readonly registered = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly abort = new AbortController();
  private stopReason: string | undefined;
  private readonly providers: Record<string, Provider>;

  constructor(
    readonly state: StackState,
    private readonly statePath: string,
    private readonly programDir: string,
    private readonly log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
    /** Stack config (`ns:key` → value): `docker:host` configures the default docker provider. */
    private readonly config: Record<string, string> = {},
  ) {
    this.providers = {
      [CONTAINER]: containerProvider,
      [NETWORK]: networkProvider,
      [VOLUME]: volumeProvider,
      [IMAGE]: imageProvider,
      [RANDOM_PASSWORD]: randomPasswordProvider,
      [COMMAND]: commandProvider(programDir),
      [SERVICE]: serviceProvider,
      [SECRET]: secretProvider,
      [SERVICE_CONFIG]: serviceConfigProvider,
    };
  }

  /** Ctrl-C: no new steps start; running ones finish (waits for health stop early). */
  cancel(reason: string): void {
    this.stopReason ??= reason;
    this.interrupted ??= `the update was interrupted by ${reason}`;
    this.abort.abort();
  }

  /** Set when the run was cancelled: the first thing to report. */
  interrupted: string | undefined;

  get failed(): boolean {
    return this.errors.length > 0 || this.stopReason !== undefined;
  }

  /** Records an error of the program itself (a throw, a rejected apply). */
  programError(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    // The SDK re-raises a failed registration as "failed to register new resource …: <ours>".
    if (!this.errors.some((known) => e.message.includes(known.message))) this.errors.push(e);
    this.stopReason ??= "an error";
  }

  /** Resolves once every registration handed in so far has finished. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  register(reg: Registration): Promise<RegisterResult> {
    const work = this.step(reg);
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  private async step(reg: Registration): Promise<RegisterResult> {
    if (!reg.custom) return { id: "", outputs: {} };
    if (this.registered.has(reg.urn)) {
      throw this.fail(reg, new Error(`Duplicate resource URN '${reg.urn}'`));
    }
    this.registered.add(reg.urn);
    if (this.stopReason !== undefined) {
      throw new Error(`${reg.urn}: not processed; the update stopped after ${this.stopReason}`);
    }
    try {
      return await this.apply(reg);
    } catch (error) {
      throw this.fail(reg, error);
    }
  }

  private fail(reg: Registration, error: unknown): Error {
    const e = new Error(`${reg.type} ${reg.name}: ${(error as Error).message ?? String(error)}`);
    this.errors.push(e);
    this.stopReason ??= `${reg.name} failed`;
    this.log(`  ! ${e.message}`);
    return e;
  }

  private provider(type: string): Provider {
    const provider = this.providers[type];
    if (provider === undefined)
      throw new Error(`test engine does not implement resource type ${type}`);
    return provider;
  }

  private context(reg: Registration, dockerHost?: string): ProviderContext {
    return {
      urn: reg.urn,
      name: reg.name,
      programDir: this.programDir,
      dockerHost,
      signal: this.abort.signal,
      log: (message) => this.log(`    ${reg.name}: ${message}`),
    };
  }

  /**
   * The docker host a registration's provider points at: an explicit provider (the SDK sends
   * `<urn>::<id>` of a `pulumi:providers:docker` registered earlier in this run) gives its `host`
   * input; no provider = the default provider, configured by stack config `docker:host`.
   */
  private dockerHost(reg: Registration): string | undefined {
    if (!reg.type.startsWith("docker:")) return undefined;
    const ref = reg.provider ?? "";
    if (ref === "") return this.config["docker:host"] || undefined;
    const urn = ref.slice(0, ref.lastIndexOf("::"));
    const record = this.state.resources[urn];
    if (record === undefined || !this.registered.has(urn)) {
      throw new Error(`provider ${ref} is not a provider registered in this run`);
    }
    if (record.type !== PROVIDER_DOCKER) {
      throw new Error(`provider ${urn} is a ${record.type}, not a docker provider`);
    }
    return (record.inputs.host as string | undefined) || undefined;
  }

  /**
   * A provider resource (`pulumi:providers:<pkg>`): only recorded; its inputs configure the
   * resources that reference it. A changed input updates it in place (the resources that use it
   * keep their recorded host; a changed host replaces them, see apply).
   */
  private registerProvider(reg: Registration): RegisterResult {
    const { inputs, secretKeys } = unwrapInputs(reg.inputs);
    const old = this.state.resources[reg.urn];
    const id = old?.id ?? crypto.randomUUID();
    const changed = old === undefined ? [] : changedKeys(old.inputs, inputs);
    this.put({
      urn: reg.urn,
      type: reg.type,
      id,
      inputs,
      secretInputs: secretKeys,
      outputs: inputs,
      secretOutputs: [],
      ...this.recordOptions(reg),
    });
    const op = old === undefined ? "create" : changed.length > 0 ? "update" : "same";
    this.steps.push({
      op,
      urn: reg.urn,
      type: reg.type,
      id,
      ...(op === "update" ? { changed } : {}),
    });
    return { id, outputs: withSecrets(inputs, secretKeys) };
  }

  private async apply(reg: Registration): Promise<RegisterResult> {
    if (reg.type.startsWith("pulumi:providers:")) return this.registerProvider(reg);
    const provider = this.provider(reg.type);
    const dockerHost = this.dockerHost(reg);
    const ctx = this.context(reg, dockerHost);
    const unwrapped = unwrapInputs(reg.inputs);
    let inputs = unwrapped.inputs;
    if (provider.check) inputs = await provider.check(inputs, ctx);
    const old = this.state.resources[reg.urn];

    if (old === undefined) {
      return this.create(reg, provider, inputs, unwrapped.secretKeys, "", undefined, dockerHost);
    }

    for (const key of reg.options.ignoreChanges) {
      if (/[.[]/.test(key)) {
        throw new Error(`test engine implements only top-level ignoreChanges (got ${key})`);
      }
      if (key in old.inputs) inputs[key] = old.inputs[key];
      else delete inputs[key];
    }
    const changed = changedKeys(old.inputs, inputs);
    // Another engine (provider host) is another provider: Pulumi replaces the resource.
    if ((old.dockerHost ?? "") !== (dockerHost ?? "")) changed.push("provider");
    const replaceOn = reg.options.replaceOnChanges;
    const replace = changed.some(
      (k) =>
        k === "provider" ||
        changeKind(reg.type, k, old.inputs, inputs) === "replace" ||
        replaceOn.includes(k) ||
        replaceOn.includes("*"),
    );

    if (changed.length === 0 && old.initErrors === undefined) {
      // Same: nothing to do; the options and dependencies of this run are what state keeps.
      this.put({ ...old, ...this.recordOptions(reg) });
      this.steps.push({ op: "same", urn: reg.urn, type: reg.type, id: old.id });
      return { id: old.id, outputs: withSecrets(old.outputs, this.secretKeys(old)) };
    }

    if (!replace) {
      // Update (also how Pulumi retries a resource that failed to initialise).
      this.log(`  ~ update  ${reg.type} ${reg.name} [${changed.join(", ")}]`);
      const outputs = await provider.update(old, inputs, changed, ctx);
      const record: ResourceRecord = {
        ...old,
        ...this.recordOptions(reg),
        inputs,
        secretInputs: unwrapped.secretKeys,
        outputs,
        initErrors: undefined,
        dockerHost,
        provider: reg.provider,
      };
      this.put(record);
      this.steps.push({ op: "update", urn: reg.urn, type: reg.type, id: old.id, changed });
      return { id: old.id, outputs: withSecrets(outputs, this.secretKeys(record)) };
    }

    if (old.options.protect || reg.options.protect) {
      throw new Error(
        `unable to replace resource "${reg.urn}" as it is currently marked for protection`,
      );
    }
    // pulumi/pulumi `pkg/resource/deploy/step_generator.go`: the provider's DeleteBeforeReplace
    // is the default, and an explicit `deleteBeforeReplace` option (true or false) overrides it.
    const deleteFirst = reg.options.deleteBeforeReplace ?? providerDeletesBeforeReplace(reg.type);
    this.log(
      `  +- replace ${reg.type} ${reg.name} [${changed.join(", ")}] (${deleteFirst ? "delete first" : "create first"})`,
    );
    if (deleteFirst) {
      await this.deleteDependentsOf(reg.urn);
      await this.deleteRecord(reg.urn, "replace");
    } else {
      let n = 0;
      while (this.state.resources[`${reg.urn}#old-${n}`] !== undefined) n++;
      delete this.state.resources[reg.urn];
      this.put({ ...old, pendingDelete: true }, `${reg.urn}#old-${n}`);
    }
    return this.create(reg, provider, inputs, unwrapped.secretKeys, "replace", changed, dockerHost);
  }

  private async create(
    reg: Registration,
    provider: Provider,
    inputs: Props,
    secretInputs: string[],
    reason: string,
    changed?: string[],
    dockerHost?: string,
  ): Promise<RegisterResult> {
    this.log(`  + create  ${reg.type} ${reg.name}`);
    let created: Created;
    let initErrors: string[] | undefined;
    try {
      created = await provider.create(inputs, this.context(reg, dockerHost));
    } catch (error) {
      if (!(error instanceof InitError)) throw error;
      created = error.created;
      initErrors = [error.message];
    }
    const record: ResourceRecord = {
      urn: reg.urn,
      type: reg.type,
      id: created.id,
      inputs,
      secretInputs,
      outputs: created.outputs,
      secretOutputs: secretOutputs(reg.type),
      ...this.recordOptions(reg),
      initErrors,
      dockerHost,
      provider: reg.provider,
    };
    this.put(record);
    this.steps.push({
      op: "create",
      urn: reg.urn,
      type: reg.type,
      id: created.id,
      ...(reason ? { reason } : {}),
      ...(changed ? { changed } : {}),
    });
    if (initErrors !== undefined) {
      throw new Error(
        `resource was created (${created.id}) but failed to initialize: ${initErrors[0]}`,
      );
    }
    return { id: created.id, outputs: withSecrets(created.outputs, this.secretKeys(record)) };
  }

  private recordOptions(reg: Registration) {
    return {
      dependencies: reg.dependencies,
      propertyDependencies: reg.propertyDependencies,
      parent: reg.parent,
      options: reg.options,
    };
  }

  private secretKeys(record: ResourceRecord): string[] {
    return [...record.secretInputs, ...record.secretOutputs];
  }

  private put(record: ResourceRecord, key = record.urn): void {
    this.state.resources[key] = record;
    writeState(this.statePath, this.state);
  }

  /**
   * Before a delete-before-replace of `urn`: resources whose ForceNew inputs come from it must go
   * first (they will be replaced anyway, and Docker refuses to delete what is still in use).
   */
  private async deleteDependentsOf(urn: string): Promise<void> {
    const doomed = new Set<string>();
    const visit = (target: string): void => {
      for (const [key, record] of Object.entries(this.state.resources)) {
        if (doomed.has(key) || record.pendingDelete || this.registered.has(record.urn)) continue;
        const uses = Object.entries(record.propertyDependencies).some(
          ([prop, urns]) =>
            urns.includes(target) &&
            (changeKind(record.type, prop) === "replace" ||
              record.options.replaceOnChanges.includes(prop)),
        );
        if (uses) {
          doomed.add(key);
          visit(record.urn);
        }
      }
    };
    visit(urn);
    for (const key of deletionOrder(this.state, [...doomed])) {
      await this.deleteRecord(key, `replace of ${urn}`);
    }
  }

  private async deleteRecord(key: string, reason: string): Promise<void> {
    const record = this.state.resources[key];
    if (record.options.protect) {
      throw new Error(
        `unable to delete resource "${record.urn}" as it is currently marked for protection`,
      );
    }
    if (record.options.retainOnDelete) {
      this.log(`  - retain  ${record.type} ${record.urn.split("::").pop()} (retainOnDelete)`);
      this.steps.push({ op: "retain", urn: record.urn, type: record.type, id: record.id, reason });
    } else {
      this.log(`  - delete  ${record.type} ${record.urn.split("::").pop()} (${reason})`);
      // Provider resources have nothing to delete.
      if (!record.type.startsWith("pulumi:providers:")) {
        await this.provider(record.type).delete(record, (m) => this.log(`    ${m}`));
      }
      this.steps.push({ op: "delete", urn: record.urn, type: record.type, id: record.id, reason });
    }
    delete this.state.resources[key];
    writeState(this.statePath, this.state);
  }

  /**
   * After a successful program run: delete old copies of replaced resources and everything the
   * program no longer declares, dependents first.
   */
  async finish(): Promise<void> {
    const keys = Object.keys(this.state.resources).filter((key) => {
      const record = this.state.resources[key];
      return record.pendingDelete === true || !this.registered.has(record.urn);
    });
    for (const key of deletionOrder(this.state, keys)) {
      const record = this.state.resources[key];
      await this.deleteRecord(key, record.pendingDelete ? "replaced" : "removed");
    }
  }

  /** `down`: delete every resource, dependents first; retainOnDelete ones only leave state. */
  async destroy(): Promise<void> {
    for (const key of deletionOrder(this.state, Object.keys(this.state.resources))) {
      await this.deleteRecord(key, "destroy");
    }
  }
}
