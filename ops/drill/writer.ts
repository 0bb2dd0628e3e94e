// Writes through pgpool, as the app makes them: one row at a time into the drill's own table,
// each acknowledged or failed; and what the acknowledgements tell (the write outage, lost writes).
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "pg";
import { psql } from "../docker";
import { poll } from "../poll";
import type { DrillTarget } from "./target";

/** Table of the drills' own writes (never one of the app's). */
export const WRITES_TABLE = "ha_stack_drill_writes";

export async function connectPgpool(target: DrillTarget): Promise<Client> {
  const client = new Client({
    host: target.pgpool.host.replace(/^\[|\]$/g, ""),
    port: target.pgpool.port,
    user: "app",
    password: target.appPassword,
    database: "app",
    connectionTimeoutMillis: 3_000,
    query_timeout: 5_000,
  });
  client.on("error", () => {}); // a backend dying mid-session surfaces on the next query
  await client.connect();
  return client;
}

export async function createWritesTable(target: DrillTarget): Promise<void> {
  const client = await connectPgpool(target);
  try {
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${WRITES_TABLE} (run text NOT NULL, n integer NOT NULL, ` +
        "at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run, n))",
    );
  } finally {
    await client.end().catch(() => {});
  }
}

export async function dropWritesTable(target: DrillTarget): Promise<void> {
  const client = await connectPgpool(target);
  try {
    await client.query(`DROP TABLE IF EXISTS ${WRITES_TABLE}`);
  } finally {
    await client.end().catch(() => {});
  }
}

export interface Ack {
  readonly n: number;
  /** Date.now() when the insert was sent and when its commit was acknowledged. */
  readonly sentAt: number;
  readonly at: number;
}

export interface WriterReport {
  readonly run: string;
  readonly acknowledged: readonly Ack[];
  readonly failures: number;
}

/**
 * Inserts one row at a time through pgpool, as the app would, at most `ratePerSecond` rows a
 * second, reconnecting after an error. Bounded by `maxWrites` and `maxSeconds`.
 */
export class Writer {
  readonly run = `w-${randomBytes(4).toString("hex")}`;
  readonly acknowledged: Ack[] = [];
  failures = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly target: DrillTarget,
    opts: { ratePerSecond: number; maxWrites: number; maxSeconds: number },
  ) {
    this.done = this.loop(opts);
  }

  private async loop(opts: {
    ratePerSecond: number;
    maxWrites: number;
    maxSeconds: number;
  }): Promise<void> {
    const start = Date.now();
    const gap = 1000 / opts.ratePerSecond;
    let client: Client | undefined;
    for (let n = 1; n <= opts.maxWrites && !this.stopped; n++) {
      if (Date.now() - start > opts.maxSeconds * 1000) break;
      const sentAt = Date.now();
      try {
        client ??= await connectPgpool(this.target);
        await client.query(`INSERT INTO ${WRITES_TABLE} (run, n) VALUES ($1, $2)`, [this.run, n]);
        this.acknowledged.push({ n, sentAt, at: Date.now() });
      } catch {
        this.failures++;
        const old = client;
        client = undefined;
        void old?.end().catch(() => {});
      }
      await sleep(Math.max(0, sentAt + gap - Date.now()));
    }
    await client?.end().catch(() => {});
  }

  /** Resolves once at least `count` more writes than now are acknowledged (or times out). */
  async more(count: number, timeoutMs: number): Promise<boolean> {
    const target = this.acknowledged.length + count;
    return (
      (await poll(async () => this.acknowledged.length >= target || undefined, timeoutMs, 100)) ===
      true
    );
  }

  async stop(): Promise<WriterReport> {
    this.stopped = true;
    await this.done;
    return { run: this.run, acknowledged: [...this.acknowledged], failures: this.failures };
  }
}

/**
 * The longest wait between consecutive acknowledgements from the last one at or before `at` on:
 * the write outage a crash at `at` caused. Not simply "the first acknowledgement after `at`": a
 * killed postmaster's backends can still acknowledge a commit for some milliseconds, and that
 * write does not end the outage that follows it.
 */
function outageGap(acks: readonly Ack[], at: number): { from: number; to: number } | undefined {
  const before = acks.filter((a) => a.at <= at).at(-1);
  const times = [before?.at ?? at, ...acks.filter((a) => a.at > at).map((a) => a.at)];
  let gap: { from: number; to: number } | undefined;
  for (let i = 0; i + 1 < times.length; i++) {
    if (gap === undefined || times[i + 1] - times[i] > gap.to - gap.from) {
      gap = { from: times[i], to: times[i + 1] };
    }
  }
  return gap;
}

/** The write outage around `at` in seconds (see {@link outageGap}); undefined if no write came after. */
export function writeOutage(acks: readonly Ack[], at: number): number | undefined {
  const gap = outageGap(acks, at);
  return gap === undefined ? undefined : (gap.to - gap.from) / 1000;
}

/** Seconds from `at` to the acknowledgement that ended the outage (undefined: none). */
export function firstAckAfter(acks: readonly Ack[], at: number): number | undefined {
  const gap = outageGap(acks, at);
  return gap === undefined ? undefined : (gap.to - at) / 1000;
}

/** Acknowledged rows of `writer` missing on the node `container` (asked over its local socket). */
export async function missingWrites(container: string, writer: WriterReport): Promise<number[]> {
  const rows = await psql(container, `SELECT n FROM ${WRITES_TABLE} WHERE run = '${writer.run}'`);
  const stored = new Set(rows.map(([n]) => Number(n)));
  return writer.acknowledged.filter((a) => !stored.has(a.n)).map((a) => a.n);
}
