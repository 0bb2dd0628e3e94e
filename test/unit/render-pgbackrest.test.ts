import { describe, expect, it } from "vitest";
import {
  dataPath,
  renderPgbackrestConf,
  type PgbackrestConfInput,
} from "../../components/render/pgbackrest";

/** `[section]` → `key=value` lines, as pgbackrest reads its ini file; a repeated key throws. */
function sections(text: string): Map<string, Map<string, string>> {
  const result = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      current = new Map();
      result.set(header[1], current);
      continue;
    }
    const setting = /^([a-z0-9-]+)=(.+)$/.exec(line);
    if (!setting || !current) throw new Error(`not a setting: ${line}`);
    if (current.has(setting[1])) throw new Error(`${setting[1]} set twice`);
    current.set(setting[1], setting[2]);
  }
  return result;
}

describe("renderPgbackrestConf", () => {
  it("gives a node its own data directory, the shared repository and compression", () => {
    const conf = sections(renderPgbackrestConf({ role: "node", node: "pg-1" }));
    expect([...conf.keys()]).toEqual(["global", "ha-stack"]);
    expect(Object.fromEntries(conf.get("global")!)).toMatchObject({
      "repo1-path": "/var/lib/pgbackrest",
      "compress-type": "zst",
      "log-level-file": "off",
    });
    expect(Object.fromEntries(conf.get("ha-stack")!)).toEqual({
      "pg1-path": "/var/lib/postgresql/pg-1/pgdata",
      "pg1-user": "postgres",
    });
    // Retention is the backup container's business: a change must not restart the nodes.
    expect(conf.get("global")!.has("repo1-retention-full")).toBe(false);
  });

  it("lets the backup container reach both nodes by socket and prefer the standby", () => {
    const conf = sections(renderPgbackrestConf({ role: "backup", retentionFull: 4 }));
    expect(conf.get("global")!.get("repo1-retention-full")).toBe("4");
    expect(Object.fromEntries(conf.get("ha-stack")!)).toEqual({
      "pg1-path": dataPath("pg-0"),
      "pg1-socket-path": "/var/lib/postgresql/pg-0/run",
      "pg1-user": "postgres",
      "pg2-path": dataPath("pg-1"),
      "pg2-socket-path": "/var/lib/postgresql/pg-1/run",
      "pg2-user": "postgres",
      "backup-standby": "prefer",
    });
  });

  it("is pure: the same input renders the same text", () => {
    const input: PgbackrestConfInput = { role: "backup", retentionFull: 2 };
    expect(renderPgbackrestConf(input)).toBe(renderPgbackrestConf(input));
  });

  it.each([
    [{ role: "node", node: "pg-2" }, `pgbackrest node is "pg-2"; allowed: pg-0, pg-1`],
    [
      { role: "backup", retentionFull: 0 },
      "pgbackrest retentionFull is 0; allowed: a whole number from 1 to 365",
    ],
    [
      { role: "backup", retentionFull: 1.5 },
      "pgbackrest retentionFull is 1.5; allowed: a whole number from 1 to 365",
    ],
    [{ role: "repo" }, `pgbackrest role is "repo"; allowed: node, backup`],
  ])("rejects %j", (input, message) => {
    expect(() => renderPgbackrestConf(input as PgbackrestConfInput)).toThrow(new Error(message));
  });
});
