// Property values as the SDK sends them: secret markers, nulls, durations.
import { isDeepStrictEqual } from "node:util";

/** The SDK's wire marker for a secret value (`runtime/rpc.ts` specialSigKey/specialSecretSig). */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export type Props = Record<string, unknown>;

export function isSecret(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Props)[SIG_KEY] === SECRET_SIG;
}

/** A value wrapped the way the SDK reads a secret back from the monitor. */
export function secret(value: unknown): Props {
  return { [SIG_KEY]: SECRET_SIG, value };
}

/** Removes secret markers (at any depth) and drops null/undefined object members. */
export function plain(value: unknown): unknown {
  if (isSecret(value)) return plain(value.value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) {
    const out: Props = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === null || v === undefined) continue;
      out[k] = plain(v);
    }
    return out;
  }
  return value;
}

/** Splits SDK inputs into plain values and the names of the top-level keys that were secret. */
export function unwrapInputs(inputs: Props): { inputs: Props; secretKeys: string[] } {
  return {
    inputs: plain(inputs) as Props,
    secretKeys: Object.keys(inputs).filter((k) => containsSecret(inputs[k])),
  };
}

function containsSecret(value: unknown): boolean {
  if (isSecret(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecret);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsSecret);
  return false;
}

/** Top-level keys whose values differ (absent and null count as the same). */
export function changedKeys(olds: Props, news: Props): string[] {
  const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
  return [...keys].filter((k) => !isDeepStrictEqual(olds[k], news[k])).sort();
}

/** Wraps the named top-level outputs as secrets for the SDK. */
export function withSecrets(outputs: Props, secretKeys: Iterable<string>): Props {
  const out: Props = { ...outputs };
  for (const key of secretKeys) {
    if (key in out) out[key] = secret(out[key]);
  }
  return out;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** A Go duration ("2s", "1m30s", "500ms") in nanoseconds, as Docker's API takes it. */
export function durationNs(text: string, what: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (text === "0" || text === "") return 0;
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
    throw new Error(`${what}: "${text}" is not a duration (allowed: e.g. 500ms, 2s, 1m30s)`);
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS[p[2]], 0));
}
