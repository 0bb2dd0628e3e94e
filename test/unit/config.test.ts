import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { CONFIG_KEYS, parseConfig } from "../../components/config";
import { ProgramError, runProgram } from "./harness";

const bad = (raw: Record<string, string>) => () => parseConfig(raw, "dev");

describe("parseConfig", () => {
  it("applies the documented defaults to an empty config", () => {
    expect(parseConfig({}, "dev")).toEqual({
      stack: "dev",
      prefix: "ha-stack-dev",
      replicas: 3,
      maxReplicas: 10,
      connections: { pgpoolChildren: 71, maxConnections: 298 },
      lbAlgorithm: "round_robin",
      httpPort: 8080,
      listenAddress: "127.0.0.1",
      pgpoolPort: undefined,
      baseImage: "debian:trixie-slim",
      synchronousReplication: false,
      retainData: true,
      collectorIntervalSeconds: 15,
      adminUi: true,
      adminPort: 8081,
      orchestrator: "docker",
      registry: undefined,
      databaseNodes: undefined,
      edgeNodes: undefined,
      rolloutBatch: 1,
      backupSchedule: "daily",
      backupRetention: 2,
      retainBackups: true,
      restoreTo: undefined,
      restoreFrom: undefined,
    });
  });

  it("returns a frozen object", () => {
    expect(Object.isFrozen(parseConfig({}, "dev"))).toBe(true);
  });

  it("accepts every valid value at its bounds", () => {
    const config = parseConfig(
      {
        replicas: "32",
        maxReplicas: "32",
        lbAlgorithm: "consistent_hash",
        httpPort: "65535",
        listenAddress: "::1",
        pgpoolPort: "1",
        baseImage: "registry.local:5000/team/debian:trixie@sha256:" + "a".repeat(64),
        synchronousReplication: "true",
        retainData: "false",
        collectorIntervalSeconds: "0",
        adminUi: "false",
        adminPort: "65535",
        rolloutBatch: "16",
      },
      "staging",
    );
    expect(config).toMatchObject({
      replicas: 32,
      maxReplicas: 32,
      lbAlgorithm: "consistent_hash",
      httpPort: 65535,
      pgpoolPort: 1,
      synchronousReplication: true,
      retainData: false,
      collectorIntervalSeconds: 0,
      adminUi: false,
      adminPort: 65535,
      rolloutBatch: 16,
      prefix: "ha-stack-staging",
    });
  });

  it.each([
    ["replicas", "0", `ha-stack:replicas is "0"; allowed: a whole number from 1 to 32`],
    ["replicas", "-1", `ha-stack:replicas is "-1"; allowed: a whole number from 1 to 32`],
    ["replicas", "33", `ha-stack:replicas is "33"; allowed: a whole number from 1 to 32`],
    ["replicas", "2.5", `ha-stack:replicas is "2.5"; allowed: a whole number from 1 to 32`],
    ["replicas", "three", `ha-stack:replicas is "three"; allowed: a whole number from 1 to 32`],
    ["replicas", "1e1", `ha-stack:replicas is "1e1"; allowed: a whole number from 1 to 32`],
    [
      "lbAlgorithm",
      "random",
      `ha-stack:lbAlgorithm is "random"; allowed: round_robin, least_conn, ip_hash, consistent_hash`,
    ],
    [
      "lbAlgorithm",
      "IP_HASH",
      `ha-stack:lbAlgorithm is "IP_HASH"; allowed: round_robin, least_conn, ip_hash, consistent_hash`,
    ],
    ["httpPort", "0", `ha-stack:httpPort is "0"; allowed: a whole number from 1 to 65535`],
    ["httpPort", "70000", `ha-stack:httpPort is "70000"; allowed: a whole number from 1 to 65535`],
    ["httpPort", "http", `ha-stack:httpPort is "http"; allowed: a whole number from 1 to 65535`],
    ["pgpoolPort", "0", `ha-stack:pgpoolPort is "0"; allowed: a whole number from 1 to 65535`],
    [
      "listenAddress",
      "localhost",
      `ha-stack:listenAddress is "localhost"; allowed: an IPv4 or IPv6 address of this host, e.g. 127.0.0.1 or 0.0.0.0`,
    ],
    [
      "listenAddress",
      "300.1.1.1",
      `ha-stack:listenAddress is "300.1.1.1"; allowed: an IPv4 or IPv6 address of this host, e.g. 127.0.0.1 or 0.0.0.0`,
    ],
    [
      "baseImage",
      "Debian:Trixie",
      `ha-stack:baseImage is "Debian:Trixie"; allowed: a Docker image reference such as debian:trixie-slim or registry:5000/debian:trixie`,
    ],
    [
      "synchronousReplication",
      "yes",
      `ha-stack:synchronousReplication is "yes"; allowed: true or false`,
    ],
    ["retainData", "1", `ha-stack:retainData is "1"; allowed: true or false`],
    [
      "collectorIntervalSeconds",
      "-5",
      `ha-stack:collectorIntervalSeconds is "-5"; allowed: a whole number from 0 to 3600`,
    ],
    ["adminUi", "yes", `ha-stack:adminUi is "yes"; allowed: true or false`],
    ["adminUi", "", `ha-stack:adminUi is ""; allowed: true or false`],
    ["adminPort", "0", `ha-stack:adminPort is "0"; allowed: a whole number from 1 to 65535`],
    [
      "adminPort",
      "65536",
      `ha-stack:adminPort is "65536"; allowed: a whole number from 1 to 65535`,
    ],
    ["adminPort", "", `ha-stack:adminPort is ""; allowed: a whole number from 1 to 65535`],
    ["rolloutBatch", "0", `ha-stack:rolloutBatch is "0"; allowed: a whole number from 1 to 32`],
    ["rolloutBatch", "33", `ha-stack:rolloutBatch is "33"; allowed: a whole number from 1 to 32`],
    ["rolloutBatch", "all", `ha-stack:rolloutBatch is "all"; allowed: a whole number from 1 to 32`],
    [
      "replica",
      "5",
      `ha-stack config key is "replica"; allowed: replicas, maxReplicas, lbAlgorithm, httpPort, listenAddress, pgpoolPort, baseImage, synchronousReplication, retainData, collectorIntervalSeconds, adminUi, adminPort, orchestrator, registry, databaseNodes, edgeNodes, rolloutBatch, backupSchedule, backupRetention, retainBackups, restoreTo, restoreFrom`,
    ],
    // An empty string is a bad value, not "unset" (`pulumi config rm` unsets a key).
    ["replicas", "", `ha-stack:replicas is ""; allowed: a whole number from 1 to 32`],
    ["pgpoolPort", "", `ha-stack:pgpoolPort is ""; allowed: a whole number from 1 to 65535`],
    [
      "lbAlgorithm",
      "",
      `ha-stack:lbAlgorithm is ""; allowed: round_robin, least_conn, ip_hash, consistent_hash`,
    ],
    [
      "listenAddress",
      "",
      `ha-stack:listenAddress is ""; allowed: an IPv4 or IPv6 address of this host, e.g. 127.0.0.1 or 0.0.0.0`,
    ],
    [
      "baseImage",
      "",
      `ha-stack:baseImage is ""; allowed: a Docker image reference such as debian:trixie-slim or registry:5000/debian:trixie`,
    ],
    ["retainData", "", `ha-stack:retainData is ""; allowed: true or false`],
    // A typo must not silently deploy plain containers (the README's message, exactly).
    ["orchestrator", "Swarm", `ha-stack:orchestrator is "Swarm"; allowed: docker, swarm`],
    ["orchestrator", "kubernetes", `ha-stack:orchestrator is "kubernetes"; allowed: docker, swarm`],
    ["orchestrator", "", `ha-stack:orchestrator is ""; allowed: docker, swarm`],
  ])("rejects %s = %s naming key, value and what is allowed", (key, value, message) => {
    expect(bad({ [key]: value })).toThrow(`Invalid ha-stack configuration:\n  ${message}`);
  });

  it("takes exactly the orchestrators docker and swarm", () => {
    expect(CONFIG_KEYS.orchestrator.allowed).toBe("docker, swarm");
    expect(parseConfig({ orchestrator: "docker" }, "dev").orchestrator).toBe("docker");
    expect(bad({ orchestrator: "swarm" })).toThrow("ha-stack:registry is undefined");
  });

  describe("backups and restore", () => {
    const NOW = new Date("2026-12-03T06:00:00Z");
    const parse = (raw: Record<string, string>) => parseConfig(raw, "dev", () => {}, NOW);
    const error = (raw: Record<string, string>, message: string) =>
      expect(() => parse(raw)).toThrow(new Error(`Invalid ha-stack configuration:\n  ${message}`));

    it("takes a schedule, a retention, and a restore to a time in any zone (as UTC)", () => {
      expect(
        parse({
          backupSchedule: "hourly",
          backupRetention: "7",
          retainBackups: "false",
          restoreTo: "2026-12-03T07:30:00.250+02:00",
          restoreFrom: "prod",
        }),
      ).toMatchObject({
        backupSchedule: "hourly",
        backupRetention: 7,
        retainBackups: false,
        restoreTo: "2026-12-03T05:30:00.250Z",
        restoreFrom: "prod",
      });
      expect(parse({ restoreTo: "latest" }).restoreTo).toBe("latest");
      expect(parse({ restoreTo: "2026-12-03 05:59:59Z" }).restoreTo).toBe(
        "2026-12-03T05:59:59.000Z",
      );
    });

    it("rejects an unknown schedule", () => {
      error(
        { backupSchedule: "weekly" },
        `ha-stack:backupSchedule is "weekly"; allowed: off, hourly, daily`,
      );
    });

    it("rejects a retention of 0", () => {
      error(
        { backupRetention: "0" },
        `ha-stack:backupRetention is "0"; allowed: a whole number from 1 to 365`,
      );
    });

    it.each(["yesterday", "2026-12-03T05:00:00", "2026-13-03T05:00:00Z", "2026-12-03"])(
      "rejects the restore time %j (not an ISO time with a zone)",
      (value) => {
        error(
          { restoreTo: value },
          `ha-stack:restoreTo is "${value}"; allowed: latest, or an ISO 8601 time with its zone, e.g. 2026-12-03T06:00:00Z, not in the future`,
        );
      },
    );

    it("rejects a restore time in the future", () => {
      error(
        { restoreTo: "2026-12-03T06:00:01Z" },
        `ha-stack:restoreTo is "2026-12-03T06:00:01Z"; allowed: a moment that has passed (it is 2026-12-03T06:00:00.000Z now), or latest`,
      );
    });

    it("rejects restoreFrom without restoreTo, and a name no stack can have", () => {
      error(
        { restoreFrom: "prod" },
        `ha-stack:restoreFrom is "prod"; allowed: unset unless restoreTo is set`,
      );
      error(
        { restoreTo: "latest", restoreFrom: "my stack" },
        `ha-stack:restoreFrom is "my stack"; allowed: the name of a stack on this Docker host whose backup repository volume exists`,
      );
    });
  });

  it("rejects pgpoolPort equal to httpPort", () => {
    expect(bad({ httpPort: "9000", pgpoolPort: "9000" })).toThrow(
      `ha-stack:pgpoolPort is "9000"; allowed: a port other than httpPort (9000)`,
    );
  });

  it.each<[string, Record<string, string>, string]>([
    [
      "adminPort equal to httpPort",
      { httpPort: "9000", adminPort: "9000" },
      `ha-stack:adminPort is "9000"; allowed: a port other than httpPort (9000) and pgpoolPort (not published)`,
    ],
    [
      "adminPort equal to pgpoolPort",
      { pgpoolPort: "15432", adminPort: "15432" },
      `ha-stack:adminPort is "15432"; allowed: a port other than httpPort (8080) and pgpoolPort (15432)`,
    ],
    [
      "httpPort set to the default adminPort",
      { httpPort: "8081" },
      `ha-stack:adminPort is 8081; allowed: a port other than httpPort (8081) and pgpoolPort (not published)`,
    ],
  ])("rejects %s, naming both ports", (_, raw, message) => {
    expect(bad(raw)).toThrow(`Invalid ha-stack configuration:\n  ${message}`);
  });

  it("lets adminPort share a port with httpPort or pgpoolPort when adminUi is false (nothing is published)", () => {
    const config = parseConfig(
      { adminUi: "false", httpPort: "9000", pgpoolPort: "9001", adminPort: "9000" },
      "dev",
    );
    expect(config).toMatchObject({ adminUi: false, adminPort: 9000, httpPort: 9000 });
    expect(
      parseConfig({ adminUi: "false", adminPort: "9001", pgpoolPort: "9001" }, "dev"),
    ).toMatchObject({ adminPort: 9001, pgpoolPort: 9001 });
  });

  describe("orchestrator swarm", () => {
    const swarm = {
      orchestrator: "swarm",
      registry: "127.0.0.1:5055",
      databaseNodes: "node-1, node-2",
      edgeNodes: "node-1,node-2,node-3",
    };

    it("takes the registry and the node lists (blanks around commas trimmed)", () => {
      expect(parseConfig(swarm, "dev")).toMatchObject({
        orchestrator: "swarm",
        registry: "127.0.0.1:5055",
        databaseNodes: ["node-1", "node-2"],
        edgeNodes: ["node-1", "node-2", "node-3"],
      });
    });

    it("requires the registry and both node lists, naming each", () => {
      expect(bad({ orchestrator: "swarm" })).toThrow(
        `Invalid ha-stack configuration:
  ha-stack:registry is undefined; allowed: a registry host[:port] every node can pull from, e.g. 127.0.0.1:5000 (required with orchestrator swarm)
  ha-stack:databaseNodes is undefined; allowed: exactly 2 distinct node hostnames, comma-separated (e.g. node-1,node-2) (required with orchestrator swarm)
  ha-stack:edgeNodes is undefined; allowed: 1 to 32 distinct node hostnames, comma-separated (e.g. node-1,node-2) (required with orchestrator swarm)`,
      );
    });

    it.each<[string, string, string]>([
      ["databaseNodes", "node-1", "exactly 2 distinct node hostnames"],
      ["databaseNodes", "node-1,node-1", "exactly 2 distinct node hostnames"],
      ["databaseNodes", "node-1,node-2,node-3", "exactly 2 distinct node hostnames"],
      ["edgeNodes", "node_1", "1 to 32 distinct node hostnames"],
      ["edgeNodes", "", "1 to 32 distinct node hostnames"],
      ["registry", "http://127.0.0.1:5000", "a registry host[:port]"],
    ])("rejects %s = %j", (key, value, allowed) => {
      expect(bad({ ...swarm, [key]: value })).toThrow(
        `ha-stack:${key} is ${JSON.stringify(value)}; allowed: ${allowed}`,
      );
    });

    it("takes no backups unless told, and refuses them and restores: single-host only", () => {
      expect(parseConfig(swarm, "dev").backupSchedule).toBe("off");
      expect(parseConfig({ ...swarm, backupSchedule: "off" }, "dev").backupSchedule).toBe("off");
      expect(
        bad({ ...swarm, backupSchedule: "daily", restoreTo: "latest", restoreFrom: "prod" }),
      ).toThrow(
        `Invalid ha-stack configuration:
  ha-stack:restoreTo is "latest"; allowed: unset with orchestrator swarm (backups are single-host only)
  ha-stack:restoreFrom is "prod"; allowed: unset with orchestrator swarm (backups are single-host only)
  ha-stack:backupSchedule is "daily"; allowed: off or unset with orchestrator swarm (backups are single-host only)`,
      );
    });

    it("refuses pgpoolPort: pgpool moves between nodes", () => {
      expect(bad({ ...swarm, pgpoolPort: "15432" })).toThrow(
        `ha-stack:pgpoolPort is "15432"; allowed: unset with orchestrator swarm`,
      );
    });

    it("refuses the swarm keys on one host, where they would do nothing", () => {
      expect(bad({ registry: "127.0.0.1:5055", edgeNodes: "node-1" })).toThrow(
        `Invalid ha-stack configuration:
  ha-stack:registry is "127.0.0.1:5055"; allowed: unset unless orchestrator is swarm
  ha-stack:edgeNodes is "node-1"; allowed: unset unless orchestrator is swarm`,
      );
    });
  });

  it("reports every bad key at once", () => {
    expect(bad({ replicas: "0", httpPort: "0" })).toThrow(
      `Invalid ha-stack configuration:\n  ha-stack:replicas is "0"; allowed: a whole number from 1 to 32\n  ha-stack:httpPort is "0"; allowed: a whole number from 1 to 65535`,
    );
  });

  it("rejects a stack name Docker cannot use in object names", () => {
    expect(() => parseConfig({}, "my stack")).toThrow(
      `stack name is "my stack"; allowed: letters, digits, '_', '.', '-', starting with a letter or digit`,
    );
  });
});

describe("rolloutBatch larger than the followers", () => {
  it.each([
    [4, 32, 3, "replicas is 4 (3 followers)"],
    [3, 3, 2, "replicas is 3 (2 followers)"],
    [2, 5, 1, "replicas is 2 (1 follower)"],
    [1, 2, 1, "replicas is 1 (0 followers)"],
  ])(
    "replicas %i, rolloutBatch %i: clamped to %i with a warning",
    (replicas, batch, clamped, why) => {
      const warn = vi.fn();
      const config = parseConfig(
        { replicas: String(replicas), rolloutBatch: String(batch) },
        "dev",
        warn,
      );
      expect(config.rolloutBatch).toBe(clamped);
      expect(warn.mock.calls).toEqual([
        [`ha-stack:rolloutBatch is ${batch} but ${why}: all followers are replaced at once`],
      ]);
    },
  );

  it.each([
    [1, 1],
    [3, 2],
    [32, 16],
  ])("replicas %i, rolloutBatch %i: taken as it is, no warning", (replicas, batch) => {
    const warn = vi.fn();
    const config = parseConfig(
      { replicas: String(replicas), maxReplicas: "32", rolloutBatch: String(batch) },
      "dev",
      warn,
    );
    expect(config.rolloutBatch).toBe(batch);
    expect(warn).not.toHaveBeenCalled();
  });

  it("does not warn when the config is rejected anyway", () => {
    const warn = vi.fn();
    expect(() => parseConfig({ replicas: "0", rolloutBatch: "5" }, "dev", warn)).toThrow();
    expect(warn).not.toHaveBeenCalled();
  });
});

/** Each row of the config table as Pulumi.yaml declares it. */
function pulumiYamlRow(row: (typeof CONFIG_KEYS)[keyof typeof CONFIG_KEYS]) {
  return {
    type: row.type,
    ...(row.default === undefined ? {} : { default: row.default }),
    description: `${row.description} Allowed: ${row.allowed}.`,
  };
}

/** Each row of the config table as the README's table shows it (backticks are formatting). */
function readmeRow(key: string, row: (typeof CONFIG_KEYS)[keyof typeof CONFIG_KEYS]) {
  return [
    key,
    row.default === undefined ? "unset" : String(row.default),
    row.allowed,
    row.description,
  ];
}

describe("the config table", () => {
  it("is what Pulumi.yaml declares for the CLI (type, default, description), optional keys aside", () => {
    const text = fs.readFileSync(path.resolve(__dirname, "../../Pulumi.yaml"), "utf8");
    const project = yaml.load(text) as { config: Record<string, unknown> };
    // The CLI requires every declared key that has no default ("Stack 'dev' is missing
    // configuration values …"), so the optional ones are named in a comment instead.
    const declared = Object.entries(CONFIG_KEYS).filter(([, row]) => row.default !== undefined);
    const expected = Object.fromEntries(declared.map(([key, row]) => [key, pulumiYamlRow(row)]));
    expect(project.config).toEqual(expected);
    // Same order as the table, so the file reads like it.
    expect(Object.keys(project.config)).toEqual(declared.map(([key]) => key));
    for (const [key, row] of Object.entries(CONFIG_KEYS)) {
      if (row.default === undefined) expect(text, key).toMatch(new RegExp(`^#.*\\b${key}\\b`, "m"));
    }
  });

  it("is the README's table of config keys", () => {
    const readme = fs.readFileSync(path.resolve(__dirname, "../../README.md"), "utf8");
    const header = "| key | default | allowed | meaning |";
    const start = readme.indexOf(`${header}\n|---|---|---|---|\n`);
    expect(start, "the README's config table").toBeGreaterThan(-1);
    const lines = readme.slice(start).split("\n").slice(2);
    const rows = lines
      .slice(
        0,
        lines.findIndex((line) => !line.startsWith("|")),
      )
      .map((line) =>
        line
          .slice(1, -1)
          .split(" | ")
          .map((cell) => cell.trim().replaceAll("`", "")),
      );
    expect(rows).toEqual(Object.entries(CONFIG_KEYS).map(([key, row]) => readmeRow(key, row)));
  });

  it("gives every key a default its own validation accepts", () => {
    for (const [key, row] of Object.entries(CONFIG_KEYS)) {
      if (row.default === undefined) continue;
      expect(
        parseConfig({ [key]: String(row.default) }, "dev")[key as keyof typeof CONFIG_KEYS],
        key,
      ).toBe(row.default);
    }
  });
});

describe("the program with invalid config", () => {
  beforeEach(() => vi.resetModules());

  it("fails before registering any resource", async () => {
    const error = await runProgram({ replicas: "0", lbAlgorithm: "fastest" }).catch((e) => e);
    expect(error).toBeInstanceOf(ProgramError);
    expect(error.message).toContain(`ha-stack:replicas is "0"`);
    expect(error.message).toContain(`ha-stack:lbAlgorithm is "fastest"`);
    expect(error.registrations).toEqual([]);
  });
});
