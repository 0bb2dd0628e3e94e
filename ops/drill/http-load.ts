// Reads through nginx during a crash: steady GETs of a user, and what those clients saw around it.
import { randomBytes } from "node:crypto";
import { get, LoadLoop, type LoadReport } from "../http";
import type { DrillTarget } from "./target";

/** Steady GETs of a user through nginx; every answer but a 200 counts as a failed request. */
export function httpLoad(
  target: DrillTarget,
  opts: { ratePerSecond: number; maxSeconds: number; path?: string },
): LoadLoop {
  const tag = randomBytes(3).toString("hex");
  let i = 0;
  return new LoadLoop(
    async () => {
      const path = `${opts.path ?? "api/users/1"}?drill=${tag}-${++i}`;
      const response = await get(`${target.url}${path}`, { timeoutMs: 10_000 });
      if (response.status !== 200) throw new Error(`GET /${path}: HTTP ${response.status}`);
      return path;
    },
    {
      ratePerSecond: opts.ratePerSecond,
      maxRequests: Math.ceil(opts.ratePerSecond * opts.maxSeconds),
      maxSeconds: opts.maxSeconds,
    },
  );
}

/** What clients of `httpLoad` saw around a crash at `at`. */
export interface HttpSummary {
  readonly sent: number;
  readonly failed: number;
  /** The longest stretch without a successful request after `at`, seconds (see httpGap). */
  readonly gap: number | undefined;
  /** The first ten failures. */
  readonly failures: string[];
}

export function httpSummary(report: LoadReport, startedAt: number, at: number): HttpSummary {
  return {
    sent: report.sent,
    failed: report.failed,
    gap: httpGap(report, startedAt, at),
    failures: report.failures.slice(0, 10),
  };
}

/**
 * The longest stretch without a successful request from the last success before `at` to the end
 * of the run, in seconds (undefined when no request succeeded after `at`).
 */
export function httpGap(report: LoadReport, startedAt: number, at: number): number | undefined {
  const times = report.successes.map((s) => startedAt + s.atMs).sort((a, b) => a - b);
  const first = times.findIndex((t) => t > at);
  if (first === -1) return undefined;
  let gap = (times[first] - (times[first - 1] ?? at)) / 1000;
  for (let i = first + 1; i < times.length; i++)
    gap = Math.max(gap, (times[i] - times[i - 1]) / 1000);
  return gap;
}
