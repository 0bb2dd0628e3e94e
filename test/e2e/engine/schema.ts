// What each resource type does when an input changes: keep it and update in place, or replace it.
// This is the ONE place that encodes the providers' schemas for the test engine.
//
// Sources (read with the project's `search` tool, code corpus):
// - kreuzwerker/terraform-provider-docker `internal/provider/resource_docker_container.go`
//   (commit 042f771a818e9d4b8c37fa2993a37b38b3822cab): every `docker_container` attribute is
//   `ForceNew` except the ones listed in CONTAINER_UPDATABLE / CONTAINER_STATE_ONLY below.
//   `resource_docker_container_funcs.go` `resourceDockerContainerUpdate` sends only restart,
//   max_retry_count, cpu_shares, memory, cpu_set and memory_swap to `docker update`; the other
//   non-ForceNew attributes (healthcheck, init, tmpfs, wait, must_run, …) change only the state.
// - same repository, `resource_docker_network.go` and `resource_docker_volume.go`: no Update
//   function, every attribute `ForceNew` → any change replaces.
// - pulumi/pulumi-docker `provider/resources.go`: `docker_container` is declared
//   `DeleteBeforeReplace: true`, so a container is deleted before its replacement is made unless
//   the program sets `deleteBeforeReplace: false` explicitly: pulumi/pulumi
//   `pkg/resource/deploy/step_generator.go` takes the provider's choice only when the resource
//   option is unset ("The user can override the provider's decision by setting the
//   `deleteBeforeReplace` field of `ResourceOptions` to either `true` or `false`").
// - pulumi/pulumi-docker `provider/provider.go` (the native `docker.Image`): Diff reports every
//   change as an update (rebuild), never a replace; Delete does nothing (the image stays local).
// - kreuzwerker `internal/provider/resource_docker_service.go` (commit 013b65e4158178aeaaaed5bf3c4c414ab690a08a,
//   read with the search tool): ForceNew are `name`, `mode`, `auth` and
//   `task_spec.container_spec.hosts`; every other attribute is updated in place by
//   `resourceDockerServiceUpdate` (`resource_docker_service_funcs.go`: ServiceUpdate with the
//   current version index). `task_spec.networks_advanced` (name, aliases, driver_opts) is ForceNew
//   in v3+/v4 (the stored copy predates the block; /work/shared/field-notes.md, Swarm section):
//   changing any networksAdvanceds entry replaces the service. Nested ForceNew replaces the whole
//   resource, so `taskSpec` is compared field by field (serviceTaskSpecKind). `mode` is a
//   ForceNew TypeList whose nested `replicated.replicas` and `global` are not ForceNew; the
//   plugin SDK (terraform-plugin-sdk v2 `schemaMap.diffList`) puts a list's ForceNew on its
//   count (`mode.#`) only and diffs nested attributes with their own schema, so a new replica
//   count is an in-place update (resourceDockerServiceUpdate's converge loop counts running
//   tasks against the new replicas) and only adding or removing the block replaces
//   (serviceModeKind; a replicated ↔ global switch is taken as a replace too: Docker refuses
//   that change in a service update).
// - same repository, `resource_docker_secret.go` / `resource_docker_config.go`: every attribute
//   ForceNew, no Update → any change replaces; the secret's `data` is Sensitive (a secret output).
// - @pulumi/random: every RandomPassword input (and `keepers`) forces a replacement.
// - @pulumi/command `local.Command`: `triggers` forces a replacement; other changes run `update`
//   (or `create` when no `update` is given).

export const CONTAINER = "docker:index/container:Container";
export const NETWORK = "docker:index/network:Network";
export const VOLUME = "docker:index/volume:Volume";
export const IMAGE = "docker:index/image:Image";
export const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";
export const COMMAND = "command:local:Command";
export const SERVICE = "docker:index/service:Service";
export const SECRET = "docker:index/secret:Secret";
export const SERVICE_CONFIG = "docker:index/serviceConfig:ServiceConfig";
export const PROVIDER_DOCKER = "pulumi:providers:docker";

/** docker_service top-level inputs that are ForceNew (`mode`: see serviceModeKind). */
const SERVICE_FORCE_NEW = new Set(["name", "auth"]);

/** A `mode` change: the replica count updates in place; the block's presence or kind replaces. */
export function serviceModeKind(olds: unknown, news: unknown): ChangeKind {
  const kind = (mode: unknown): string | undefined => {
    if (mode === undefined || mode === null) return undefined;
    const m = mode as { global?: boolean; replicated?: unknown };
    return m.global ? "global" : "replicated";
  };
  return kind(olds) !== undefined && kind(olds) === kind(news) ? "update" : "replace";
}

/**
 * Whether a `taskSpec` change of a Service replaces it: only `containerSpec.hosts` and
 * `networksAdvanceds` are ForceNew inside it. Unknown values (a dependency being replaced, see
 * deployment.ts deleteDependentsOf) count as a possible replacement, as Pulumi's dependent
 * replacement check diffs with those values unknown.
 */
export function serviceTaskSpecKind(olds: unknown, news: unknown): ChangeKind {
  if (olds === undefined || news === undefined) return "replace";
  const o = olds as Record<string, any>;
  const n = news as Record<string, any>;
  const same = (a: unknown, b: unknown): boolean =>
    JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  return same(o.networksAdvanceds, n.networksAdvanceds) &&
    same(o.containerSpec?.hosts, n.containerSpec?.hosts)
    ? "update"
    : "replace";
}

/** Container inputs `docker update` changes on the running container. */
const CONTAINER_UPDATABLE = new Set([
  "restart",
  "maxRetryCount",
  "cpuShares",
  "memory",
  "cpuSet",
  "memorySwap",
]);

/** Container inputs that are not ForceNew but that the provider's Update never sends to Docker. */
const CONTAINER_STATE_ONLY = new Set([
  "rm",
  "start",
  "wait",
  "waitTimeout",
  "attach",
  "logs",
  "mustRun",
  "removeVolumes",
  "destroyGraceSeconds",
  "healthcheck",
  "tmpfs",
  "init",
  "containerReadRefreshTimeoutMilliseconds",
  "cpuPeriod",
  "cpuQuota",
]);

export type ChangeKind = "update" | "replace";

/**
 * What changing input `key` of a resource of type `type` makes the provider do. `olds`/`news`
 * (the whole inputs) let nested ForceNew fields decide (Service taskSpec); without them a nested
 * change counts as a possible replacement.
 */
export function changeKind(
  type: string,
  key: string,
  olds?: Record<string, unknown>,
  news?: Record<string, unknown>,
): ChangeKind {
  switch (type) {
    case SERVICE:
      if (SERVICE_FORCE_NEW.has(key)) return "replace";
      if (key === "taskSpec") return serviceTaskSpecKind(olds?.taskSpec, news?.taskSpec);
      if (key === "mode") return serviceModeKind(olds?.mode, news?.mode);
      return "update";
    case SECRET:
    case SERVICE_CONFIG:
      return "replace";
    case CONTAINER:
      return CONTAINER_UPDATABLE.has(key) || CONTAINER_STATE_ONLY.has(key) ? "update" : "replace";
    case IMAGE:
      return "update";
    case COMMAND:
      return key === "triggers" ? "replace" : "update";
    case NETWORK:
    case VOLUME:
    case RANDOM_PASSWORD:
      return "replace";
    default:
      throw new Error(`test engine does not implement resource type ${type}`);
  }
}

/** Container inputs the provider applies with `docker update` (the rest of an update is state only). */
export function isDockerUpdatable(key: string): boolean {
  return CONTAINER_UPDATABLE.has(key);
}

/** The provider itself asks for delete-before-replace (pulumi-docker: docker_container). */
export function providerDeletesBeforeReplace(type: string): boolean {
  return type === CONTAINER;
}

/** Outputs the provider's schema marks secret, whatever the inputs were. */
export function secretOutputs(type: string): string[] {
  if (type === SECRET) return ["data"];
  return type === RANDOM_PASSWORD ? ["result", "bcryptHash"] : [];
}
