// The two-writable monitor: both PostgreSQL nodes asked every 200 ms, over connections of its
// own, whether they accept writes; a sample at which both did is the split brain the stack
// promises never to have.
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "pg";
import { addressOn, exec } from "../docker";
import { withTimeout } from "../poll";

/**
 * Asks one PostgreSQL node `SELECT pg_is_in_recovery()` over a connection of its own from the
 * host (to its backend-network address, as the superuser, password from the container's secret
 * file), reconnecting when the node went away. Cheap enough to ask every 200 ms.
 */
class NodeProbe {
  private client: Client | undefined;
  private password: string | undefined;

  constructor(private readonly container: string) {}

  /** true = writable primary, false = standby, undefined = not answering within a second. */
  async writable(): Promise<boolean | undefined> {
    try {
      if (this.client === undefined) {
        this.password ??= (
          await withTimeout(exec(this.container, ["cat", "/run/secrets/postgres-password"]), 3_000)
        ).split("\n")[0];
        const client = new Client({
          host: await addressOn(this.container, "-backend"),
          port: 5432,
          user: "postgres",
          password: this.password,
          database: "postgres",
          connectionTimeoutMillis: 1_000,
          query_timeout: 1_000,
        });
        client.on("error", () => {});
        await client.connect();
        this.client = client;
      }
      const { rows } = await this.client.query<{ r: boolean }>("SELECT pg_is_in_recovery() AS r");
      return !rows[0].r;
    } catch {
      const old = this.client;
      this.client = undefined;
      void old?.end().catch(() => {});
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.client?.end().catch(() => {});
    this.client = undefined;
  }
}

/**
 * Asks both PostgreSQL nodes every `intervalMs` whether they are writable (see NodeProbe) and
 * records every sample at which both were. Bounded by `maxSeconds`.
 */
export class WritableMonitor {
  private stopped = false;
  private readonly started = Date.now();
  readonly bothWritable: number[] = [];
  samples = 0;
  /** Samples where at least one node did not answer (restarting, crashed). */
  unanswered = 0;
  private readonly done: Promise<void>;

  constructor(
    containers: readonly [string, string],
    opts: { intervalMs?: number; maxSeconds: number },
  ) {
    this.done = this.run(
      containers.map((c) => new NodeProbe(c)),
      opts.intervalMs ?? 200,
      opts.maxSeconds,
    );
  }

  private async run(probes: NodeProbe[], intervalMs: number, maxSeconds: number): Promise<void> {
    try {
      while (!this.stopped && Date.now() - this.started < maxSeconds * 1000) {
        const at = Date.now();
        const [a, b] = await Promise.all(probes.map((p) => p.writable()));
        this.samples++;
        if (a === undefined || b === undefined) this.unanswered++;
        if (a === true && b === true) this.bothWritable.push(at - this.started);
        await sleep(Math.max(0, at + intervalMs - Date.now()));
      }
    } finally {
      await Promise.all(probes.map((p) => p.close()));
    }
  }

  async stop(): Promise<MonitorReport> {
    this.stopped = true;
    await this.done;
    return {
      seconds: (Date.now() - this.started) / 1000,
      samples: this.samples,
      unanswered: this.unanswered,
      bothWritableAtMs: [...this.bothWritable],
    };
  }
}

export interface MonitorReport {
  readonly seconds: number;
  readonly samples: number;
  readonly unanswered: number;
  /** Milliseconds since the monitor started of each sample with two writable nodes. */
  readonly bothWritableAtMs: number[];
}
