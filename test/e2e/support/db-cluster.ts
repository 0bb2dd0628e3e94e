// A PostgreSQL pair and pgpool made directly with the docker CLI from the postgres/ and pgpool/
// images, wired as docs/architecture.md says (aliases, env, uploaded files, init, user postgres):
// the image-level test bed of test/e2e/database-images.test.ts. Every object it makes is named
// `hs-db-<run>-…` and labelled `hs-db.run=<run>`, and `destroy()` removes them all.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { renderPgHba, renderPostgresqlConf } from "../../../components/render/postgres";
import { pgpoolMemoryMb, renderPgpoolConf, renderPoolHba } from "../../../components/render/pgpool";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "../../..");

export const POSTGRES_IMAGE = "hs-db-postgres:test";
export const PGPOOL_IMAGE = "hs-db-pgpool:test";
export const PASSWORDS = ["postgres", "replication", "app", "pgpool"] as const;
export type PasswordName = (typeof PASSWORDS)[number];

/** `docker <args>`; stdout, or an error carrying stderr. */
export async function docker(args: string[], timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await run("docker", args, { timeout: timeoutMs, maxBuffer: 64 << 20 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`docker ${args.slice(0, 3).join(" ")} …: ${e.stderr?.trim() || e.message}`);
  }
}

/** Builds both images FROM `baseImage` (layers cached by Docker between runs). */
export async function buildImages(baseImage: string): Promise<void> {
  await Promise.all(
    [
      [POSTGRES_IMAGE, "postgres"],
      [PGPOOL_IMAGE, "pgpool"],
    ].map(([tag, dir]) =>
      docker(
        ["build", "-q", "--build-arg", `BASE_IMAGE=${baseImage}`, "-t", tag, path.join(ROOT, dir)],
        900_000,
      ),
    ),
  );
}

export interface DbClusterOptions {
  readonly synchronousReplication: boolean;
  /** @default 512 */
  readonly memoryMb?: number;
  /** @default 28 (3 replicas × 6 + 10, as components/database.ts sizes it) */
  readonly numInitChildren?: number;
}

/** A file as the docker provider's `uploads` writes it before the container starts. */
interface Upload {
  readonly file: string;
  readonly content: string;
}

export class DbCluster {
  /** Name prefix of every object of this run, e.g. `hs-db-k3x9a`. */
  readonly prefix = `hs-db-${randomBytes(3).toString("hex")}`;
  readonly network = `${this.prefix}-backend`;
  readonly passwords: Record<PasswordName, string>;
  private readonly label = `hs-db.run=${this.prefix}`;

  constructor(readonly options: DbClusterOptions) {
    this.passwords = Object.fromEntries(
      PASSWORDS.map((p) => [
        p,
        randomBytes(24)
          .toString("base64")
          .replace(/[^A-Za-z0-9]/g, ""),
      ]),
    ) as Record<PasswordName, string>;
  }

  pg(node: 0 | 1): string {
    return `${this.prefix}-pg-${node}`;
  }

  get pgpool(): string {
    return `${this.prefix}-pgpool`;
  }

  async createNetwork(): Promise<void> {
    await docker(["network", "create", "--internal", "--label", this.label, this.network]);
    for (const node of [0, 1] as const) {
      await docker(["volume", "create", "--label", this.label, `${this.pg(node)}-data`]);
    }
  }

  /** Creates pg-<node> (not started) with the contract's env, volume and uploads. */
  async createPostgres(node: 0 | 1): Promise<void> {
    const memoryMb = this.options.memoryMb ?? 512;
    const name = `pg-${node}` as const;
    const peer = `pg-${1 - node}`;
    await docker([
      "create",
      "--name",
      this.pg(node),
      "--hostname",
      name,
      "--label",
      this.label,
      "--network",
      this.network,
      "--network-alias",
      name,
      "--init",
      "--restart",
      "unless-stopped",
      "--user",
      "postgres",
      "--memory",
      `${memoryMb}m`,
      "--memory-swap",
      `${memoryMb}m`,
      "--stop-signal",
      "SIGINT",
      "--stop-timeout",
      "60",
      "--env",
      `PG_NODE_NAME=${name}`,
      "--env",
      `PG_PEER_HOST=${peer}`,
      "--env",
      `PG_INITIAL_ROLE=${node === 0 ? "primary" : "standby"}`,
      "--env",
      `PG_SYNCHRONOUS=${this.options.synchronousReplication ? "on" : "off"}`,
      "--env",
      "PG_FENCE_WAIT_SECONDS=10",
      "--volume",
      `${this.pg(node)}-data:/var/lib/postgresql/data`,
      POSTGRES_IMAGE,
    ]);
    await this.upload(this.pg(node), [
      {
        file: "/etc/ha-stack/postgresql.conf",
        content: renderPostgresqlConf({
          nodeName: name,
          peerHost: peer,
          synchronousReplication: this.options.synchronousReplication,
          maxConnections: this.numInitChildren + 20,
          memoryMb,
          // No backup repository in these image tests.
          archive: false,
        }),
      },
      { file: "/etc/ha-stack/pg_hba.conf", content: renderPgHba() },
      ...this.secrets(PASSWORDS),
    ]);
  }

  async createPgpool(): Promise<void> {
    const children = this.numInitChildren;
    await docker([
      "create",
      "--name",
      this.pgpool,
      "--hostname",
      "pgpool",
      "--label",
      this.label,
      "--network",
      this.network,
      "--network-alias",
      "pgpool",
      "--init",
      "--restart",
      "unless-stopped",
      "--user",
      "postgres",
      "--memory",
      `${pgpoolMemoryMb(children)}m`,
      PGPOOL_IMAGE,
    ]);
    await this.upload(this.pgpool, [
      {
        file: "/etc/ha-stack/pgpool.conf",
        content: renderPgpoolConf({
          backends: [0, 1].map((i) => ({ host: `pg-${i}`, port: 5432, name: `pg_${i}` })),
          port: 9999,
          numInitChildren: children,
          healthCheckPeriodSeconds: 1,
          healthCheckMaxRetries: 2,
        }),
      },
      { file: "/etc/ha-stack/pool_hba.conf", content: renderPoolHba() },
      ...this.secrets(["postgres", "app", "pgpool"]),
    ]);
  }

  async start(container: string): Promise<void> {
    await docker(["start", container]);
  }

  /** Waits until Docker reports the container healthy; throws with its logs otherwise. */
  async waitHealthy(container: string, timeoutMs = 180_000): Promise<number> {
    const started = Date.now();
    while (Date.now() - started < timeoutMs) {
      const state = (
        await docker(["inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", container])
      ).trim();
      if (state === "running healthy") return Date.now() - started;
      if (state.startsWith("exited") || state.startsWith("dead")) break;
      await sleep(500);
    }
    throw new Error(`${container} is not healthy:\n${await this.logs(container)}`);
  }

  async logs(container: string): Promise<string> {
    const { stdout, stderr } = await run("docker", ["logs", "--tail", "200", container], {
      maxBuffer: 64 << 20,
    }).catch((e: { stdout?: string; stderr?: string }) => ({
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
    }));
    return stdout + stderr;
  }

  /** Runs SQL as the superuser over the node's local socket; rows of tab-separated fields. */
  async sql(container: string, statement: string, database = "postgres"): Promise<string[][]> {
    const out = await docker(
      [
        "exec",
        "-u",
        "postgres",
        container,
        "psql",
        "-h",
        "/var/run/postgresql",
        "-d",
        database,
      ].concat(["-AtXq", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-c", statement]),
      30_000,
    );
    return out
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => line.split("\t"));
  }

  /** The container's address on the backend network (the host routes to it). */
  async address(container: string): Promise<string> {
    const ip = (
      await docker([
        "inspect",
        "-f",
        `{{(index .NetworkSettings.Networks "${this.network}").IPAddress}}`,
        container,
      ])
    ).trim();
    if (ip === "") throw new Error(`${container} has no address on ${this.network}`);
    return ip;
  }

  /** Removes every container, volume and network of this run. */
  async destroy(): Promise<void> {
    const ids = (await docker(["ps", "-aq", "--filter", `label=${this.label}`]))
      .split("\n")
      .filter(Boolean);
    if (ids.length > 0) await docker(["rm", "-f", "-v", ...ids]);
    const volumes = (await docker(["volume", "ls", "-q", "--filter", `label=${this.label}`]))
      .split("\n")
      .filter(Boolean);
    if (volumes.length > 0) await docker(["volume", "rm", "-f", ...volumes]);
    const networks = (await docker(["network", "ls", "-q", "--filter", `label=${this.label}`]))
      .split("\n")
      .filter(Boolean);
    if (networks.length > 0) await docker(["network", "rm", ...networks]);
  }

  private get numInitChildren(): number {
    return this.options.numInitChildren ?? 28;
  }

  private secrets(names: readonly PasswordName[]): Upload[] {
    return names.map((p) => ({ file: `/run/secrets/${p}-password`, content: this.passwords[p] }));
  }

  /**
   * Like the docker provider's `uploads`: a tar of the files (mode 0644, owned by root)
   * extracted at `/` of the created container, before it starts.
   */
  private async upload(container: string, files: readonly Upload[]): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hs-db-upload-"));
    try {
      for (const f of files) {
        const target = path.join(dir, f.file);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, f.content, { mode: 0o644 });
      }
      const tarball = path.join(dir, "..", `${path.basename(dir)}.tar`);
      const tops = [...new Set(files.map((f) => f.file.split("/")[1]))];
      await run("tar", ["-C", dir, "--owner=0", "--group=0", "-cf", tarball, ...tops]);
      // `docker cp -` reads a tar from stdin and extracts it at the destination directory.
      await run("sh", ["-c", 'docker cp - "$1:/" < "$2"', "sh", container, tarball]);
      fs.rmSync(tarball, { force: true });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
