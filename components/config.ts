import * as net from "node:net";
import * as pulumi from "@pulumi/pulumi";
import { LB_ALGORITHMS, type LbAlgorithm } from "./render/nginx";

/** The Pulumi project name; config keys are `ha-stack:<key>`. */
export const PROJECT = "ha-stack";

/** Upper bound on `replicas`: nginx, pgpool's children and PostgreSQL's connections are sized for it. */
export const MAX_REPLICAS = 32;

/**
 * Every config key with its default. `Pulumi.yaml` repeats these defaults for the CLI
 * (a unit test keeps the two equal); the program applies them itself because mock mode and
 * older CLIs do not.
 */
export const DEFAULTS = {
  replicas: 3,
  lbAlgorithm: "round_robin" as LbAlgorithm,
  httpPort: 8080,
  listenAddress: "127.0.0.1",
  baseImage: "debian:trixie-slim",
  synchronousReplication: false,
  retainData: true,
  collectorIntervalSeconds: 15,
  rolloutBatch: 1,
} as const;

/** The validated configuration of one stack. Built once, frozen, handed to every component. */
export interface StackConfig {
  /** Stack name (`pulumi stack`), e.g. `dev`. */
  readonly stack: string;
  /** Prefix of every Docker object name of this stack, e.g. `ha-stack-dev`. */
  readonly prefix: string;
  /** App containers: app-0 is the migration leader. 1–32, @default 3 */
  readonly replicas: number;
  /** nginx balancing. @default "round_robin" */
  readonly lbAlgorithm: LbAlgorithm;
  /** Host port nginx publishes. @default 8080 */
  readonly httpPort: number;
  /** Host address the published ports bind to. @default "127.0.0.1" */
  readonly listenAddress: string;
  /** Host port for pgpool, bound to listenAddress; undefined = not published. @default undefined */
  readonly pgpoolPort: number | undefined;
  /** Image every ha-stack image builds FROM. @default "debian:trixie-slim" */
  readonly baseImage: string;
  /** Commit waits for the standby while one is attached. @default false */
  readonly synchronousReplication: boolean;
  /** Database volumes survive `pulumi destroy`. @default true */
  readonly retainData: boolean;
  /** Seconds between host-metric samples; 0 = no collector container. @default 15 */
  readonly collectorIntervalSeconds: number;
  /**
   * Followers replaced at a time when the app image changes (also how many are created at
   * once); each batch is healthy before the next starts. 1–32, @default 1
   */
  readonly rolloutBatch: number;
}

/** Raw values as the CLI hands them over: strings (or already-typed values from tests). */
export type RawConfig = Readonly<Record<string, string | number | boolean | undefined>>;

const KNOWN_KEYS = [
  "replicas",
  "lbAlgorithm",
  "httpPort",
  "listenAddress",
  "pgpoolPort",
  "baseImage",
  "synchronousReplication",
  "retainData",
  "collectorIntervalSeconds",
  "rolloutBatch",
] as const;

// Docker's reference grammar, simplified: [registry[:port]/]path[:tag][@digest], lower-case path.
const IMAGE_REFERENCE =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

// Docker object names: [a-zA-Z0-9][a-zA-Z0-9_.-]*. Stack names become part of every name.
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

class ConfigErrors {
  readonly messages: string[] = [];
  add(key: string, value: unknown, allowed: string): void {
    this.messages.push(`${PROJECT}:${key} is ${JSON.stringify(value)}; ${allowed}`);
  }
}

function integer(
  errors: ConfigErrors,
  raw: RawConfig,
  key: string,
  fallback: number | undefined,
  min: number,
  max: number,
): number | undefined {
  const value = raw[key];
  if (value === undefined || value === "") return fallback;
  const text = String(value).trim();
  const n = /^-?[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    errors.add(key, value, `allowed: a whole number from ${min} to ${max}`);
    return fallback;
  }
  return n;
}

function boolean(errors: ConfigErrors, raw: RawConfig, key: string, fallback: boolean): boolean {
  const value = raw[key];
  if (value === undefined || value === "") return fallback;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  errors.add(key, value, "allowed: true or false");
  return fallback;
}

function text(raw: RawConfig, key: string, fallback: string): string {
  const value = raw[key];
  return value === undefined || value === "" ? fallback : String(value);
}

/**
 * Validates raw config values and returns the typed, frozen stack config. Every bad value is
 * reported (key, value, what is allowed) in one Error, thrown before any resource is declared.
 */
export function parseConfig(raw: RawConfig, stack: string): StackConfig {
  const errors = new ConfigErrors();

  for (const key of Object.keys(raw)) {
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) {
      errors.add(key, raw[key], `not a known key; known keys: ${KNOWN_KEYS.join(", ")}`);
    }
  }
  if (!DOCKER_NAME.test(stack)) {
    errors.add("stack", stack, "allowed: a stack name of letters, digits, '_', '.', '-'");
  }

  const replicas = integer(errors, raw, "replicas", DEFAULTS.replicas, 1, MAX_REPLICAS)!;

  const lbAlgorithm = text(raw, "lbAlgorithm", DEFAULTS.lbAlgorithm) as LbAlgorithm;
  if (!LB_ALGORITHMS.includes(lbAlgorithm)) {
    errors.add("lbAlgorithm", raw.lbAlgorithm, `allowed: ${LB_ALGORITHMS.join(", ")}`);
  }

  const httpPort = integer(errors, raw, "httpPort", DEFAULTS.httpPort, 1, 65535)!;
  const pgpoolPort = integer(errors, raw, "pgpoolPort", undefined, 1, 65535);
  if (pgpoolPort !== undefined && pgpoolPort === httpPort) {
    errors.add("pgpoolPort", raw.pgpoolPort, `allowed: a port other than httpPort (${httpPort})`);
  }

  const listenAddress = text(raw, "listenAddress", DEFAULTS.listenAddress);
  if (net.isIP(listenAddress) === 0) {
    errors.add(
      "listenAddress",
      raw.listenAddress,
      "allowed: an IPv4 or IPv6 address of this host, e.g. 127.0.0.1 or 0.0.0.0",
    );
  }

  const baseImage = text(raw, "baseImage", DEFAULTS.baseImage);
  if (!IMAGE_REFERENCE.test(baseImage)) {
    errors.add(
      "baseImage",
      raw.baseImage,
      "allowed: a Docker image reference such as debian:trixie-slim or registry:5000/debian:trixie",
    );
  }

  const synchronousReplication = boolean(
    errors,
    raw,
    "synchronousReplication",
    DEFAULTS.synchronousReplication,
  );
  const retainData = boolean(errors, raw, "retainData", DEFAULTS.retainData);
  const collectorIntervalSeconds = integer(
    errors,
    raw,
    "collectorIntervalSeconds",
    DEFAULTS.collectorIntervalSeconds,
    0,
    3600,
  )!;
  const rolloutBatch = integer(
    errors,
    raw,
    "rolloutBatch",
    DEFAULTS.rolloutBatch,
    1,
    MAX_REPLICAS,
  )!;

  if (errors.messages.length > 0) {
    throw new Error(`Invalid ha-stack configuration:\n  ${errors.messages.join("\n  ")}`);
  }

  return Object.freeze({
    stack,
    prefix: `${PROJECT}-${stack}`,
    replicas,
    lbAlgorithm,
    httpPort,
    listenAddress,
    pgpoolPort,
    baseImage,
    synchronousReplication,
    retainData,
    collectorIntervalSeconds,
    rolloutBatch,
  });
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
