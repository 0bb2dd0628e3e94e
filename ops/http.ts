// HTTP from the host to a stack: a GET with a timeout, and a steady load loop bounded in count and
// time (what clients of the stack saw while something changed or broke).
export interface HttpResult {
  readonly status: number;
  readonly body: string;
  json<T = any>(): T;
}

/** A GET with a timeout; network errors throw, HTTP errors return their status. */
export async function get(
  url: string,
  init: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const response = await fetch(url, {
    headers: init.headers,
    signal: AbortSignal.timeout(init.timeoutMs ?? 5_000),
  });
  const body = await response.text();
  return { status: response.status, body, json: () => JSON.parse(body) };
}

export interface LoadReport {
  readonly sent: number;
  readonly ok: number;
  readonly failed: number;
  /** One line per failure: time since start, then status or error. */
  readonly failures: string[];
  /** Milliseconds since start at which each failure (same order as `failures`) came back. */
  readonly failedAtMs: number[];
  /** Milliseconds since start of each successful request, with what it returned. */
  readonly successes: { atMs: number; value: unknown }[];
}

/**
 * Calls `request` at a steady rate until stopped, `maxRequests` are sent or `maxSeconds` pass,
 * whichever comes first. A request that throws, or returns `false`, counts as failed.
 */
export class LoadLoop {
  private stopped = false;
  private readonly done: Promise<LoadReport>;
  /** When the first request went out (Date.now()); report times count from here. */
  readonly startedAt = Date.now();

  constructor(
    request: () => Promise<unknown>,
    opts: { ratePerSecond: number; maxRequests: number; maxSeconds: number },
  ) {
    this.done = this.run(request, opts);
  }

  private async run(
    request: () => Promise<unknown>,
    opts: { ratePerSecond: number; maxRequests: number; maxSeconds: number },
  ): Promise<LoadReport> {
    const start = this.startedAt;
    const gap = 1000 / opts.ratePerSecond;
    const inFlight: Promise<void>[] = [];
    const failures: string[] = [];
    const failedAtMs: number[] = [];
    const fail = (what: string) => {
      const atMs = Date.now() - start;
      failedAtMs.push(atMs);
      failures.push(`${atMs} ms: ${what}`);
    };
    const successes: { atMs: number; value: unknown }[] = [];
    let sent = 0;
    while (
      !this.stopped &&
      sent < opts.maxRequests &&
      Date.now() - start < opts.maxSeconds * 1000
    ) {
      sent++;
      inFlight.push(
        request().then(
          (value) => {
            if (value === false) fail("rejected");
            else successes.push({ atMs: Date.now() - start, value });
          },
          (error: Error) => fail(error.message),
        ),
      );
      const next = start + sent * gap;
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
    await Promise.all(inFlight);
    return { sent, ok: successes.length, failed: failures.length, failures, failedAtMs, successes };
  }

  /** Stops sending and resolves once every request in flight has finished. */
  stop(): Promise<LoadReport> {
    this.stopped = true;
    return this.done;
  }
}

/** POST `${baseUrl}api/users` with the admin token; the new user's id, or throws the status. */
export async function createUser(baseUrl: string, token: string, name: string): Promise<number> {
  const response = await fetch(`${baseUrl}api/users`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ name }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await response.text();
  if (response.status !== 201) throw new Error(`HTTP ${response.status}: ${body.slice(0, 200)}`);
  return (JSON.parse(body) as { id: number }).id;
}
