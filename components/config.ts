import * as net from "node:net";
import * as pulumi from "@pulumi/pulumi";
import { invalid, wholeNumber } from "./errors";
import { LB_ALGORITHMS } from "./render/nginx";
import { ORCHESTRATORS } from "./common";
import {
  APP_CONTAINERS_AT_ONCE,
  budgetedAppContainers,
  CONNECTIONS_PER_APP,
  connectionBudget,
  rollBatch,
  type ConnectionBudget,
} from "./connections";
import { MAX_RETENTION_FULL } from "./render/pgbackrest";

/** The Pulumi project name; config keys are `ha-stack:<key>`. */
export const PROJECT = "ha-stack";

/** What every Docker object of stack `stack` is named with: `ha-stack-<stack>`. */
export function stackPrefix(stack: string): string {
  return `${PROJECT}-${stack}`;
}

/** Upper bound on `replicas` and `maxReplicas`: PostgreSQL's connections are sized for it. */
export const MAX_REPLICAS = 32;

/** How often the backup container takes a base backup; `off` = only on demand. */
export const BACKUP_SCHEDULES = ["off", "hourly", "daily"] as const;
export type BackupSchedule = (typeof BACKUP_SCHEDULES)[number];

/** A value as the CLI hands it over (a string), or already typed (tests). */
type RawValue = string | number | boolean;

/** Returned by `ConfigKey.parse` for a value that is not allowed. */
const INVALID = Symbol("invalid");

/** One row of the config table: everything the program, Pulumi.yaml and the README say of a key. */
export interface ConfigKey<T> {
  /** The key's `type` in Pulumi.yaml. */
  readonly type: "integer" | "string" | "boolean";
  /** The value when the key is not set; undefined = the feature is off. */
  readonly default: T;
  /** What a valid value is, as the error message and the README's "allowed" column say it. */
  readonly allowed: string;
  /** What the key does: Pulumi.yaml's description (plus "Allowed: …") and the README's "meaning". */
  readonly description: string;
  /** The typed value, or INVALID. Never sees undefined: an unset key takes `default`. */
  parse(value: RawValue): T | typeof INVALID;
}

function integer<D extends number | undefined>(row: {
  default: D;
  min: number;
  max: number;
  description: string;
}): ConfigKey<number | D> {
  return {
    type: "integer",
    default: row.default,
    allowed: wholeNumber(row.min, row.max),
    description: row.description,
    parse(value) {
      const text = String(value).trim();
      const n = /^-?[0-9]+$/.test(text) ? Number(text) : NaN;
      return Number.isSafeInteger(n) && n >= row.min && n <= row.max ? n : INVALID;
    },
  };
}

function oneOf<V extends string>(row: {
  default: V;
  values: readonly V[];
  description: string;
}): ConfigKey<V> {
  return {
    type: "string",
    default: row.default,
    allowed: row.values.join(", "),
    description: row.description,
    parse: (value) => row.values.find((v) => v === value) ?? INVALID,
  };
}

function oneOfOrUnset<V extends string>(row: {
  values: readonly V[];
  description: string;
}): ConfigKey<V | undefined> {
  return { ...oneOf({ ...row, default: row.values[0] }), default: undefined };
}

// ISO 8601 date and time with seconds (a fraction allowed) and a zone: Z or ±hh:mm.
const ISO_TIME =
  /^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:?[0-9]{2})$/;

/** `latest`, or an ISO 8601 time with its zone, returned as UTC (`2026-12-03T06:00:00.000Z`). */
function restoreTarget(row: { description: string }): ConfigKey<string | undefined> {
  return {
    type: "string",
    default: undefined,
    allowed:
      "latest, or an ISO 8601 time with its zone, e.g. 2026-12-03T06:00:00Z, not in the future",
    description: row.description,
    parse(value) {
      if (value === "latest") return value;
      if (typeof value !== "string" || !ISO_TIME.test(value)) return INVALID;
      const ms = Date.parse(value.replace(" ", "T"));
      return Number.isNaN(ms) ? INVALID : new Date(ms).toISOString();
    },
  };
}

function text<D extends string | undefined>(row: {
  default: D;
  valid: (value: string) => boolean;
  allowed: string;
  description: string;
}): ConfigKey<string | D> {
  return {
    type: "string",
    default: row.default,
    allowed: row.allowed,
    description: row.description,
    parse: (value) => (typeof value === "string" && row.valid(value) ? value : INVALID),
  };
}

// A node's hostname as Swarm knows it (`docker node ls`): an RFC 1123 label sequence.
const HOSTNAME =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A comma-separated list of distinct node hostnames, `min` to `max` of them; unset = none. */
function nodeList(row: {
  min: number;
  max: number;
  description: string;
}): ConfigKey<readonly string[] | undefined> {
  const count = row.min === row.max ? `exactly ${row.min}` : `${row.min} to ${row.max}`;
  return {
    type: "string",
    default: undefined,
    allowed: `${count} distinct node hostnames, comma-separated (e.g. node-1,node-2)`,
    description: row.description,
    parse(value) {
      if (typeof value !== "string") return INVALID;
      const names = value.split(",").map((name) => name.trim());
      const ok =
        names.length >= row.min &&
        names.length <= row.max &&
        names.every((name) => HOSTNAME.test(name)) &&
        new Set(names).size === names.length;
      return ok ? Object.freeze(names) : INVALID;
    },
  };
}

function flag(row: { default: boolean; description: string }): ConfigKey<boolean> {
  return {
    type: "boolean",
    default: row.default,
    allowed: "true or false",
    description: row.description,
    parse(value) {
      if (value === true || value === "true") return true;
      if (value === false || value === "false") return false;
      return INVALID;
    },
  };
}

// Docker's reference grammar, simplified: [registry[:port]/]path[:tag][@digest], lower-case path.
const IMAGE_REFERENCE =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

// A registry as the first part of an image reference: host[:port].
const REGISTRY = /^[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]{1,5})?$/;

// Docker object names: [a-zA-Z0-9][a-zA-Z0-9_.-]*. Stack names become part of every name.
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * Every config key, one row each: the single source of the defaults, the validation and the
 * known keys. Pulumi.yaml's `config:` block and the README's table repeat it for the CLI and
 * for readers; test/unit/config.test.ts keeps both equal to it. The program applies the defaults
 * itself because mock mode and older CLIs do not.
 */
export const CONFIG_KEYS = {
  replicas: integer({
    default: 3,
    min: 1,
    max: MAX_REPLICAS,
    description: "App containers; app-0 is the migration leader.",
  }),
  maxReplicas: integer({
    default: 10,
    min: 1,
    max: MAX_REPLICAS,
    description:
      "The most replicas the stack will be scaled to: pgpool's children are sized for maxReplicas + rolloutBatch app containers, so scaling within it restarts nothing; changing it or rolloutBatch restarts pgpool once. Fewer children make pgpool's failover faster.",
  }),
  lbAlgorithm: oneOf({
    default: "round_robin",
    values: LB_ALGORITHMS,
    description: "How nginx spreads requests over the app containers.",
  }),
  httpPort: integer({
    default: 8080,
    min: 1,
    max: 65535,
    description: "Host port nginx publishes.",
  }),
  listenAddress: text({
    default: "127.0.0.1",
    valid: (value) => net.isIP(value) !== 0,
    allowed: "an IPv4 or IPv6 address of this host, e.g. 127.0.0.1 or 0.0.0.0",
    description: "Host address every published port binds to.",
  }),
  pgpoolPort: integer({
    default: undefined,
    min: 1,
    max: 65535,
    description:
      "Host port for pgpool, bound to listenAddress, not httpPort; unset = not published.",
  }),
  baseImage: text({
    default: "debian:trixie-slim",
    valid: (value) => IMAGE_REFERENCE.test(value),
    allowed: "a Docker image reference such as debian:trixie-slim or registry:5000/debian:trixie",
    description: "The image every ha-stack image builds FROM.",
  }),
  synchronousReplication: flag({
    default: false,
    description: "Commits wait for the standby while one is attached.",
  }),
  retainData: flag({
    default: true,
    description: "The database volumes survive pulumi destroy.",
  }),
  collectorIntervalSeconds: integer({
    default: 15,
    min: 0,
    max: 3600,
    description: "Seconds between host-metric samples; 0 = no collector container.",
  }),
  adminUi: flag({
    default: true,
    description:
      "An Adminer container (web UI onto the app database through pgpool; log in as the app role) on listenAddress:adminPort.",
  }),
  adminPort: integer({
    default: 8081,
    min: 1,
    max: 65535,
    description: "Host port Adminer publishes, bound to listenAddress, not httpPort or pgpoolPort.",
  }),
  orchestrator: oneOf({
    default: "docker",
    values: ORCHESTRATORS,
    description:
      "docker: containers on one Docker engine; swarm: services on a Docker Swarm, through the manager in docker:host.",
  }),
  registry: text({
    default: undefined,
    valid: (value) => REGISTRY.test(value),
    allowed: "a registry host[:port] every node can pull from, e.g. 127.0.0.1:5000",
    description:
      "Where the images are pushed for the swarm's nodes to pull (orchestrator swarm only; required there).",
  }),
  databaseNodes: nodeList({
    min: 2,
    max: 2,
    description:
      "Swarm: the nodes pg-0 and pg-1 run on, each with its own data volume (orchestrator swarm only; required there).",
  }),
  edgeNodes: nodeList({
    min: 1,
    max: MAX_REPLICAS,
    description:
      "Swarm: the nodes on which nginx publishes httpPort (orchestrator swarm only; required there).",
  }),
  rolloutBatch: integer({
    default: 1,
    min: 1,
    max: MAX_REPLICAS,
    description:
      "App containers a roll replaces at once, start-first: each batch of new ones is healthy and in nginx before its old ones stop (one host: the leader first, then the followers batch by batch; swarm: the followers' update parallelism). maxReplicas + rolloutBatch is at most 48.",
  }),
  backupSchedule: oneOfOrUnset({
    values: BACKUP_SCHEDULES,
    description:
      "How often the backup container takes a base backup (a full one, then differentials); off = only on demand (npm run backup). Unset: daily on one host, off on a swarm (no backups there).",
  }),
  backupRetention: integer({
    default: 2,
    min: 1,
    max: MAX_RETENTION_FULL,
    description:
      "Full backups the repository keeps (with their differentials and the WAL to replay them); older ones are expired after each backup.",
  }),
  retainBackups: flag({
    default: true,
    description:
      "The backup repository volume survives pulumi destroy (even with retainData false).",
  }),
  restoreTo: restoreTarget({
    description:
      "On a first start from an empty pg-0 volume, restore the cluster from the backup repository to this moment (latest = the end of the archive); unset = a new empty cluster. Checked against the recoverable window before pg-0 starts.",
  }),
  restoreFrom: text({
    default: undefined,
    valid: (value) => DOCKER_NAME.test(value),
    allowed: "the name of a stack on this Docker host whose backup repository volume exists",
    description:
      "With restoreTo: the stack whose repository (ha-stack-<stack>-backups) to restore from; unset = this stack's own.",
  }),
};

type ConfigKeys = typeof CONFIG_KEYS;

/** The value of every config key, typed by its row. */
type ConfigValues = {
  readonly [K in keyof ConfigKeys]: ConfigKeys[K] extends ConfigKey<infer T> ? T : never;
};

/**
 * The validated configuration of one stack. Built once, frozen, handed to every component. The
 * keys, their types and defaults are the rows of `CONFIG_KEYS`.
 */
export interface StackConfig extends ConfigValues {
  /** Stack name (`pulumi stack`), e.g. `dev`. */
  readonly stack: string;
  /** Prefix of every Docker object name of this stack, e.g. `ha-stack-dev`. */
  readonly prefix: string;
  /**
   * pgpool's children and PostgreSQL's max_connections, from maxReplicas and rolloutBatch as
   * set (before rolloutBatch is clamped to the current followers, so scaling never changes it).
   */
  readonly connections: ConnectionBudget;
}

/** Raw values as the CLI hands them over: strings (or already-typed values from tests). */
export type RawConfig = Readonly<Record<string, RawValue | undefined>>;

const KNOWN_KEYS = Object.keys(CONFIG_KEYS) as (keyof ConfigKeys)[];

/**
 * Validates raw config values and returns the typed, frozen stack config. Every bad value is
 * reported (key, value, what is allowed) in one Error, thrown before any resource is declared.
 * An empty string is a value like any other (and allowed by no key), not "unset".
 */
export function parseConfig(
  raw: RawConfig,
  stack: string,
  warn: (message: string) => void = (message) => pulumi.log.warn(message),
  now: Date = new Date(),
): StackConfig {
  const errors: string[] = [];

  for (const key of Object.keys(raw)) {
    if (!(KNOWN_KEYS as string[]).includes(key)) {
      errors.push(invalid(`${PROJECT} config key`, key, KNOWN_KEYS.join(", ")));
    }
  }
  if (!DOCKER_NAME.test(stack)) {
    errors.push(
      invalid(
        "stack name",
        stack,
        "letters, digits, '_', '.', '-', starting with a letter or digit",
      ),
    );
  }

  const values: Record<string, unknown> = {};
  for (const key of KNOWN_KEYS) {
    const row: ConfigKey<unknown> = CONFIG_KEYS[key];
    const value = raw[key];
    const parsed = value === undefined ? row.default : row.parse(value);
    if (parsed === INVALID) errors.push(invalid(`${PROJECT}:${key}`, value, row.allowed));
    values[key] = parsed === INVALID ? row.default : parsed;
  }
  const config = values as { -readonly [K in keyof ConfigValues]: ConfigValues[K] };

  if (config.pgpoolPort !== undefined && config.pgpoolPort === config.httpPort) {
    errors.push(
      invalid(
        `${PROJECT}:pgpoolPort`,
        raw.pgpoolPort,
        `a port other than httpPort (${config.httpPort})`,
      ),
    );
  }

  // Adminer's port must be free of the stack's other host ports (only when Adminer exists).
  if (config.adminUi && [config.httpPort, config.pgpoolPort].includes(config.adminPort)) {
    const pgpool = config.pgpoolPort === undefined ? "not published" : String(config.pgpoolPort);
    errors.push(
      invalid(
        `${PROJECT}:adminPort`,
        raw.adminPort ?? config.adminPort,
        `a port other than httpPort (${config.httpPort}) and pgpoolPort (${pgpool})`,
      ),
    );
  }

  errors.push(...orchestratorErrors(config, raw));
  errors.push(...restoreErrors(config, raw, now));

  // A batch at least as large as the followers already means "all followers at once", so a
  // larger one is clamped with a warning rather than rejected: rejecting it would make scaling
  // down (`pulumi config set replicas 1`) fail on a key the user did not touch.
  const followers = config.replicas - 1;
  const batch = rollBatch(config.replicas, config.rolloutBatch);

  // pgpool has a child for every connection of every app container that can exist at once:
  // up to maxReplicas replicas plus a roll's batch (components/connections.ts).
  if (config.replicas > config.maxReplicas) {
    errors.push(
      invalid(
        `${PROJECT}:replicas`,
        raw.replicas ?? config.replicas,
        `at most maxReplicas (${config.maxReplicas}), which pgpool's children are sized for; ` +
          `raise ${PROJECT}:maxReplicas first (that restarts pgpool once)`,
      ),
    );
  }
  const connections = connectionBudget(config.maxReplicas, config.rolloutBatch);
  const atOnce = budgetedAppContainers(config.maxReplicas, config.rolloutBatch);
  if (atOnce > APP_CONTAINERS_AT_ONCE) {
    errors.push(
      invalid(
        `${PROJECT}:maxReplicas + ${PROJECT}:rolloutBatch`,
        atOnce,
        `at most ${APP_CONTAINERS_AT_ONCE} (app containers a roll can have at once, ` +
          `${CONNECTIONS_PER_APP} connections each, within PostgreSQL's ` +
          `${connections.maxConnections} connections); ` +
          `with maxReplicas ${config.maxReplicas}, rolloutBatch 1 to ${APP_CONTAINERS_AT_ONCE - config.maxReplicas}`,
      ),
    );
  }

  if (errors.length > 0) {
    throw new Error(`Invalid ${PROJECT} configuration:\n  ${errors.join("\n  ")}`);
  }

  if (config.rolloutBatch > batch) {
    warn(
      `${PROJECT}:rolloutBatch is ${config.rolloutBatch} but replicas is ${config.replicas} ` +
        `(${followers} follower${followers === 1 ? "" : "s"}): all followers are replaced at once`,
    );
    config.rolloutBatch = batch;
  }

  // Unset: daily backups where a repository can be, none on a swarm.
  config.backupSchedule ??= config.orchestrator === "swarm" ? "off" : "daily";

  return Object.freeze({ stack, prefix: stackPrefix(stack), connections, ...config });
}

/** A restore needs its target; a target cannot be a moment that has not happened yet. */
function restoreErrors(config: ConfigValues, raw: RawConfig, now: Date): string[] {
  const errors: string[] = [];
  if (config.restoreTo !== undefined && config.restoreTo !== "latest") {
    if (Date.parse(config.restoreTo) > now.getTime()) {
      errors.push(
        invalid(
          `${PROJECT}:restoreTo`,
          raw.restoreTo,
          `a moment that has passed (it is ${now.toISOString()} now), or latest`,
        ),
      );
    }
  }
  if (config.restoreFrom !== undefined && config.restoreTo === undefined) {
    errors.push(
      invalid(`${PROJECT}:restoreFrom`, raw.restoreFrom, "unset unless restoreTo is set"),
    );
  }
  return errors;
}

/** Keys that only one orchestrator takes, or that the other requires. */
function orchestratorErrors(config: ConfigValues, raw: RawConfig): string[] {
  const errors: string[] = [];
  const swarmOnly = ["registry", "databaseNodes", "edgeNodes"] as const;
  if (config.orchestrator === "docker") {
    for (const key of swarmOnly) {
      if (raw[key] !== undefined) {
        errors.push(invalid(`${PROJECT}:${key}`, raw[key], "unset unless orchestrator is swarm"));
      }
    }
    return errors;
  }
  for (const key of swarmOnly) {
    if (raw[key] === undefined) {
      errors.push(
        invalid(
          `${PROJECT}:${key}`,
          undefined,
          `${CONFIG_KEYS[key].allowed} (required with orchestrator swarm)`,
        ),
      );
    }
  }
  // Each database node is on a host of its own, with node-local volumes: no repository both
  // nodes and a backup container share (README, "Backups and restore").
  for (const key of ["restoreTo", "restoreFrom"] as const) {
    if (raw[key] !== undefined) {
      errors.push(
        invalid(
          `${PROJECT}:${key}`,
          raw[key],
          "unset with orchestrator swarm (backups are single-host only)",
        ),
      );
    }
  }
  if (config.backupSchedule !== undefined && config.backupSchedule !== "off") {
    errors.push(
      invalid(
        `${PROJECT}:backupSchedule`,
        raw.backupSchedule,
        "off or unset with orchestrator swarm (backups are single-host only)",
      ),
    );
  }
  // A host port of a task that may move between nodes has no fixed address to give.
  if (config.pgpoolPort !== undefined) {
    errors.push(
      invalid(
        `${PROJECT}:pgpoolPort`,
        raw.pgpoolPort,
        "unset with orchestrator swarm (pgpool moves between nodes; reach it through Adminer or the app)",
      ),
    );
  }
  return errors;
}

/** Reads this stack's `ha-stack:*` config and validates it (the one place config is read). */
export function readConfig(): StackConfig {
  const raw: Record<string, string> = {};
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    const [namespace, key] = fullKey.split(":", 2);
    if (namespace === PROJECT && key !== undefined) raw[key] = value;
  }
  return parseConfig(raw, pulumi.getStack());
}
