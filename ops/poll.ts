// Waiting on things that take a while: poll until a value comes, wait for it or fail naming it,
// and give up on a promise after a time limit.
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Calls `check` every `intervalMs` until it returns a value other than undefined; undefined once
 * `timeoutMs` has passed. A check that throws counts as no value yet (`onError` sees the error).
 */
export async function poll<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
  onError?: (error: unknown) => void,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      onError?.(error);
    }
    await sleep(intervalMs);
  }
  return undefined;
}

/** Like `poll`, but throws naming `what` (and the check's last error) after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 250,
): Promise<T> {
  let lastError: unknown;
  const value = await poll(check, timeoutMs, intervalMs, (error) => {
    lastError = error;
  });
  if (value === undefined) {
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for ${what}: ${String(lastError ?? "")}`,
    );
  }
  return value;
}

/** `promise`, or a rejection after `ms` milliseconds (the promise itself is not cancelled). */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
