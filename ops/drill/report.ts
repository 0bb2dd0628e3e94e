// What the drill prints: its progress lines and the summary of its report.
import type { DrillReport } from "./drill";
import type { MonitorReport } from "./monitor";
import type { ContainerLossResult, PrimaryLossResult } from "./scenarios";

export const seconds = (s: number | undefined): string =>
  s === undefined ? "not within the time limit" : `${s.toFixed(1)} s`;

export function describePrimaryLoss(r: PrimaryLossResult): string[] {
  return [
    `primary loss: SIGKILL of ${r.failed}'s postmaster (pid ${r.crashed.pid})`,
    `  ${r.survivor} writable after ${seconds(r.promotedAfter)}`,
    `  write outage through pgpool: ${seconds(r.writeOutage)} (the longest wait between two acknowledged writes; ${r.writesFailed} failed attempts)`,
    `  acknowledged writes: ${r.writesAcknowledged}, missing on the new primary: ${r.lostWrites.length}`,
    `  HTTP through nginx: ${r.http.sent} requests, ${r.http.failed} failed, longest gap ${seconds(r.http.gap)}`,
    `  old primary ${r.failed}: ${r.oldPrimaryNow}; pgpool had both nodes up again after ${seconds(r.rejoinedAfter)}`,
    `  ${r.failed}'s entrypoint: ${r.rejoin}`,
  ];
}

export function describeContainerLoss(what: string, r: ContainerLossResult): string[] {
  return [
    `${what}: SIGKILL of ${r.node}'s ${r.crashed.command} (pid ${r.crashed.pid})`,
    `  restarted by Docker and healthy after ${seconds(r.healthyAfter)}`,
    `  HTTP through nginx: ${r.http.sent} requests, ${r.http.failed} failed, longest gap ${seconds(r.http.gap)}`,
    ...(r.writeOutage !== undefined || r.writesFailed !== undefined
      ? [
          `  writes through pgpool: outage ${seconds(r.writeOutage)}, ${r.writesFailed} failed attempts`,
        ]
      : []),
    ...r.http.failures.slice(0, 3).map((f) => `    ${f}`),
  ];
}

export function describeMonitor(m: MonitorReport): string {
  return (
    `two-writable monitor: ${m.samples} samples over ${m.seconds.toFixed(0)} s ` +
    `(${m.unanswered} with a node not answering), ${m.bothWritableAtMs.length} with two writable nodes` +
    (m.bothWritableAtMs.length > 0
      ? ` at ${m.bothWritableAtMs.map((t) => `${t} ms`).join(", ")}`
      : "")
  );
}

/** The figures of the report, one line each. */
export function summary(r: DrillReport): string[] {
  const lines = [`stack ${r.stack}, synchronous replication ${r.synchronous ? "on" : "off"}`];
  if (r.primaryLoss) {
    const p = r.primaryLoss;
    lines.push(
      `primary loss (${p.failed} → ${p.survivor}): promoted after ${seconds(p.promotedAfter)}, ` +
        `write outage ${seconds(p.writeOutage)}, ${p.lostWrites.length} of ${p.writesAcknowledged} acknowledged writes lost, ` +
        `${p.http.failed} of ${p.http.sent} HTTP requests failed; old primary ${p.oldPrimaryNow}, both nodes up in pgpool after ${seconds(p.rejoinedAfter)}`,
    );
  }
  if (r.convergedAfterFailover) {
    lines.push(`converged after the failover: ${seconds(r.convergedAfterFailover.after)} later`);
  }
  const loss = (name: string, l: DrillReport["standbyLoss"]) => {
    if (!l) return;
    lines.push(
      `${name} (${l.node}): ${l.http.failed} of ${l.http.sent} HTTP requests failed, longest gap ${seconds(l.http.gap)}, ` +
        `healthy again after ${seconds(l.healthyAfter)}` +
        (l.writesFailed !== undefined ? `, write outage ${seconds(l.writeOutage)}` : ""),
    );
  };
  loss("standby loss", r.standbyLoss);
  loss("app replica loss", r.replicaLoss);
  loss("leader loss", r.leaderLoss);
  loss("nginx loss", r.nginxLoss);
  loss("pgpool loss", r.pgpoolLoss);
  lines.push(
    `two writable nodes: ${r.monitor.bothWritableAtMs.length} of ${r.monitor.samples} samples over ${r.monitor.seconds.toFixed(0)} s`,
  );
  lines.push(
    `final state: primary ${r.final.state.primary ?? "none"}, pgpool ${r.final.state.poolNodes.map((n) => `${n.host}=${n.role}/${n.status}`).join(" ")}`,
  );
  return lines;
}
