// The contract between the test engine and the stand-in providers.
import type { ResourceRecord } from "../state";
import type { Props } from "../values";

export interface ProviderContext {
  readonly urn: string;
  /** The logical name (what the program passed as the resource name). */
  readonly name: string;
  /** Where the program runs; relative paths (build contexts, upload sources) resolve here. */
  readonly programDir: string;
  /** The docker provider's `host` for this resource (undefined: DOCKER_HOST or the local socket). */
  readonly dockerHost?: string;
  /** Aborted on Ctrl-C: long waits stop early. */
  readonly signal: AbortSignal;
  log(message: string): void;
}

export interface Created {
  readonly id: string;
  readonly outputs: Props;
}

export interface Provider {
  /** Normalises inputs before diffing, as a provider's Check does (e.g. a build context digest). */
  check?(inputs: Props, ctx: ProviderContext): Promise<Props>;
  create(inputs: Props, ctx: ProviderContext): Promise<Created>;
  /** Applies an in-place update; `changed` lists the top-level inputs that differ. */
  update(
    old: ResourceRecord,
    inputs: Props,
    changed: string[],
    ctx: ProviderContext,
  ): Promise<Props>;
  delete(record: ResourceRecord, log: (message: string) => void): Promise<void>;
}

/**
 * The object was made but a check after creation failed (it did not start, or `wait` saw no
 * healthy state). Pulumi records such a resource with "initialization errors"; so does the engine.
 */
export class InitError extends Error {
  constructor(
    message: string,
    readonly created: Created,
  ) {
    super(message);
  }
}

/** Fails loudly on an input the stand-in does not implement, instead of silently ignoring it. */
export function checkKnown(
  what: string,
  value: Props | undefined,
  known: readonly string[],
  where = "",
): void {
  if (value === undefined) return;
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new Error(
        `test engine does not implement ${what} input ${where}${key} (implemented: ${known.join(", ")})`,
      );
    }
  }
}
