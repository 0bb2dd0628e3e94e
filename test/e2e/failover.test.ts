// Failover, fencing and self-healing of the whole stack under load (stack `failover`): the
// failure drill of `npm run drill:failover` (ops/drill/) run against a fresh stack with
// synchronous replication, plus `up` again right after the primary failover. Every crash is a
// SIGKILL of the container's server process, so Docker's restart policy reacts.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { logs, stackContainers } from "../../ops/docker";
import { runDrill, type DrillReport } from "../../ops/drill/drill";
import { findTarget, type DrillTarget } from "../../ops/drill/target";
import { get } from "../../ops/http";
import { PROGRAM_DIR, upStack, type Stack } from "../../ops/stack";
import type { Step } from "../../ops/stack";
import { stackPerFile } from "./support/stack-per-file";

const run = promisify(execFile);
const STACK = "failover";
const CONFIG = {
  replicas: "2",
  httpPort: "18140",
  pgpoolPort: "18141",
  synchronousReplication: "true",
  collectorIntervalSeconds: "5",
};
let stack: Stack;
let target: DrillTarget;
let report: DrillReport;
let upAgain: Step[] = [];

stackPerFile(STACK, CONFIG, {
  onUp: async (s) => {
    stack = s;
    target = await findTarget(STACK);
    report = await runDrill(target, {
      afterPrimaryLoss: async () => {
        upAgain = (await upStack(STACK, CONFIG)).result.steps;
      },
      log: (line) => console.log(`[failover drill] ${line}`),
    });
  },
});

afterEach(async (context) => {
  if (context.task.result?.state !== "fail") return;
  for (const node of ["pg-0", "pg-1", "pgpool"]) {
    const text = await logs(stack.container(node)).catch(() => "");
    console.log(`----- last log lines of ${node}\n${text.split("\n").slice(-60).join("\n")}`);
  }
});

describe("failure drill on a stack with synchronous replication", () => {
  it("finds the stack by its labels, with the app password the stack exports", () => {
    expect(report.synchronous).toBe(true);
    expect(target.appPassword).toBe(stack.result.outputs.appPassword);
    expect(target.url).toBe("http://127.0.0.1:18140/");
    expect(target.pgpool).toEqual({ host: "127.0.0.1", port: 18141 });
  });

  it("promotes the standby when the primary crashes; writes resume within seconds and no acknowledged write is lost", () => {
    const p = report.primaryLoss!;
    expect(p.failed).toBe("pg-0");
    expect(p.survivor).toBe("pg-1");
    expect(p.writesAcknowledged).toBeGreaterThan(40);
    expect(p.lostWrites).toEqual([]);
    // Target 5 s on an idle host (BENCHMARKS.md); generous here, CI shares two cores.
    expect(p.promotedAfter).toBeLessThan(20);
    expect(p.writeOutage).toBeLessThan(25);
  });

  it("brings the old primary back as a standby of the new primary, never as a second writable node", () => {
    const p = report.primaryLoss!;
    expect(p.oldPrimaryNow).toBe("standby");
    expect(p.rejoinedAfter).toBeDefined();
    // Docker restarted it at once: its entrypoint waited for the promotion (case 5) or found it
    // done (case 4), then rewound (or re-cloned) and started as a standby.
    expect(p.rejoin).toMatch(/case 4: .* → (pg_rewind from pg-1 succeeded|.*base backup)/);
    expect(p.rejoin).toContain("starting as standby of pg-1");
    expect(p.rejoin).not.toContain("starting as primary");
    // Sampled every 200 ms from before the first crash to the end of the drill.
    expect(report.monitor.samples).toBeGreaterThan(100);
    expect(report.monitor.bothWritableAtMs).toEqual([]);
  });

  it("keeps every container on `up` after the failover and converges: one primary, both nodes up in pgpool, writes work", async () => {
    const changed = upAgain.filter((s) => s.op !== "same");
    expect(changed.map((s) => `${s.op} ${s.urn.split("::").at(-1)}`)).toEqual([]);
    const converged = report.convergedAfterFailover!;
    expect(converged.after).toBeDefined();
    expect(converged.state.primary).toBe("pg-1");
    expect(converged.state.poolNodes).toEqual([
      { host: "pg-0", status: "up", role: "standby" },
      { host: "pg-1", status: "up", role: "primary" },
    ]);
    expect(converged.state.writable).toBe(true);
    expect((await get(`${stack.url}api/users/2`)).status).toBe(200);
  });

  it("serves every read while the standby crashes and comes back", () => {
    const s = report.standbyLoss!;
    expect(s.node).toBe("pg-0");
    expect(s.http.sent).toBeGreaterThan(50);
    expect(s.http.failures).toEqual([]);
    expect(s.healthyAfter).toBeDefined();
  });

  it("serves every request while an app replica crashes, and Docker restarts it healthy", () => {
    const r = report.replicaLoss!;
    expect(r.node).toBe("app-1");
    expect(r.http.sent).toBeGreaterThan(50);
    expect(r.http.failures).toEqual([]);
    expect(r.healthyAfter).toBeDefined();
  });

  it("keeps serving through the followers while the leader app-0 crashes", () => {
    const r = report.leaderLoss!;
    expect(r.node).toBe("app-0");
    expect(r.http.failures).toEqual([]);
    expect(r.healthyAfter).toBeDefined();
  });

  it("restarts nginx and pgpool by their restart policy; clients are back within seconds", async () => {
    const nginx = report.nginxLoss!;
    const pgpool = report.pgpoolLoss!;
    expect(nginx.healthyAfter).toBeLessThan(60);
    expect(nginx.http.gap).toBeLessThan(30);
    expect(pgpool.healthyAfter).toBeLessThan(90);
    expect(pgpool.writeOutage).toBeLessThan(60);
    // Reads wait in the app while pgpool restarts (retried within its budget), and nginx does
    // not keep the replicas out of rotation after the database answers again.
    expect(pgpool.http.gap).toBeLessThan(15);
    // SIGKILL leaves pgpool's pid file behind; its pid may be taken in the restarted container.
    expect(await logs(stack.container("pgpool"))).toContain(
      "removing /var/run/pgpool/pgpool.pid left by a pgpool that did not shut down cleanly",
    );
    expect(pgpool.http.failed).toBeLessThan(pgpool.http.sent / 4);
  });

  it("ends converged and healthy, with no problem reported", async () => {
    expect(report.problems).toEqual([]);
    expect(report.final.state.unhealthy).toEqual([]);
    for (const c of await stackContainers(STACK)) expect(c.health ?? "healthy").toBe("healthy");
  });
});

describe("npm run drill:failover", () => {
  const drill = (args: string[]) =>
    run("npx", ["tsx", "scripts/drill-failover.ts", ...args], {
      cwd: PROGRAM_DIR,
      timeout: 300_000,
    }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        out: e.stdout + e.stderr,
      }),
    );

  it("refuses to run without --yes, and names the scenarios it knows", async () => {
    const noYes = await drill(["--stack", STACK]);
    expect(noYes.code).toBe(2);
    expect(noYes.out).toContain("add --yes to run it");
    const bad = await drill(["--stack", STACK, "--only", "primary,disk", "--yes"]);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain(
      "unknown scenario disk; allowed: primary, standby, replica, leader, nginx, pgpool",
    );
    const none = await drill(["--stack", "no-such-stack", "--yes"]);
    expect(none.code).toBe(1);
    expect(none.out).toContain('stack "no-such-stack": no container labelled');
  });

  it("runs a scenario against the stack and prints the report", async () => {
    const result = await drill(["--stack", STACK, "--only", "replica", "--yes"]);
    expect(result.out).toContain("== failover drill report ==");
    expect(result.out).toMatch(/app replica loss \(app-1\): 0 of \d+ HTTP requests failed/);
    expect(result.out).toContain("no problems");
    expect(result.code).toBe(0);
  });
});
