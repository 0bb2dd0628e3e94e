// The status board's page (/status): server-rendered, every value through escapeHtml. Its script
// fetches the page again every REFRESH_MS and swaps in the new <main> (parsed by DOMParser, so
// nothing in it runs), which keeps one renderer for the first view and every refresh.
import type { PoolNode } from "./heartbeat.js";
import { escapeHtml, REFRESH_MS } from "./page.js";
import type { BackupStatus, MetricsPoint, Part, Status } from "./status.js";

const esc = escapeHtml;

function table(
  headers: string[],
  rows: string[][],
  empty: string,
  rowClass?: (i: number) => string,
) {
  const head = headers.map((h) => `<th scope="col">${esc(h)}</th>`).join("");
  const body =
    rows.length === 0
      ? `<tr><td colspan="${headers.length}" class="empty">${esc(empty)}</td></tr>`
      : rows
          .map((cells, i) => {
            const cls = rowClass?.(i) ?? "";
            return `<tr${cls ? ` class="${esc(cls)}"` : ""}>${cells.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`;
          })
          .join("\n");
  return `<div class="table-scroll"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function section<T>(
  id: string,
  title: string,
  part: Part<T>,
  render: (value: T) => string,
): string {
  const body = part.ok
    ? render(part.value)
    : `<p role="alert" class="error">Cannot read this: ${esc(part.error)}</p>`;
  return `<section class="card board" aria-labelledby="${id}-heading" id="${id}">
<h2 id="${id}-heading">${esc(title)}</h2>
${body}
</section>`;
}

/** A node whose pgpool status or role disagrees with what PostgreSQL says (bitnami#87). */
export function nodeMismatch(n: PoolNode): boolean {
  return n.status !== n.pg_status || n.role !== n.pg_role;
}

/** Bytes as people read them: `12.3 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The last backup, the recoverable window and the archiver's counters. */
export function backupsSection(b: BackupStatus): string {
  const a = b.archiver;
  const last = b.last
    ? `<p>Last backup <strong id="last-backup">${esc(b.last.label)}</strong> (${esc(b.last.type)}), finished ${esc(b.last.stop)}: ${esc(formatBytes(b.last.size))} of data, ${esc(formatBytes(b.last.repoSize))} in the repository. ${esc(b.count)} backup${b.count === 1 ? "" : "s"} kept.</p>`
    : `<p class="empty" id="last-backup">No backup yet${b.reportedAt === null ? " (no report from a backup container)" : ""}.</p>`;
  const window =
    b.window.earliest && b.window.latest
      ? `<p>Recoverable <span id="recoverable-window">from ${esc(b.window.earliest)} to ${esc(b.window.latest)}</span> (restoreTo takes a time in between, or latest).</p>`
      : `<p class="empty" id="recoverable-window">No recoverable window yet.</p>`;
  const archive = table(
    ["Archived WAL", "Last archived", "At", "Failures", "Last failed", "At"],
    [
      [
        String(a.archivedCount),
        orNone(a.lastArchivedWal),
        orNone(a.lastArchivedAt),
        String(a.failedCount),
        orNone(a.lastFailedWal),
        orNone(a.lastFailedAt),
      ],
    ],
    "",
    () =>
      a.failedCount > 0 && (a.lastFailedAt ?? "") > (a.lastArchivedAt ?? "") ? "mismatch" : "",
  );
  const reported = b.reportedAt
    ? `<p class="hint">Reported by the backup container at ${esc(b.reportedAt)}.</p>`
    : "";
  return last + window + archive + reported;
}

/** Load (1 min) and memory used as two lines in an inline SVG, oldest left. */
export function metricsChart(points: MetricsPoint[]): string {
  if (points.length === 0) return `<p class="empty">No metrics collected yet.</p>`;
  const w = 320;
  const h = 90;
  const maxLoad = Math.max(1, ...points.map((p) => p.load1));
  const x = (i: number) => (points.length === 1 ? w / 2 : (i / (points.length - 1)) * w);
  const y = (v: number) => h - v * h;
  const line = (values: number[]) =>
    values
      .map((v, i) => `${x(i).toFixed(1)},${y(Math.min(1, Math.max(0, v))).toFixed(1)}`)
      .join(" ");
  const last = points.at(-1)!;
  const summary =
    `Load ${last.load1.toFixed(2)} (chart top ${maxLoad.toFixed(1)}), memory ` +
    `${Math.round(last.memUsed * 100)}% used at ${last.at}; ${points.length} samples`;
  return `<svg class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(summary)}">
<title>${esc(summary)}</title>
<rect x="0" y="0" width="${w}" height="${h}" fill="#fafbfc" stroke="#d0d7de"/>
<polyline fill="none" stroke="#1f3a5f" stroke-width="2" points="${line(points.map((p) => p.load1 / maxLoad))}"/>
<polyline fill="none" stroke="#bf8700" stroke-width="2" stroke-dasharray="4 3" points="${line(points.map((p) => p.memUsed))}"/>
</svg>
<p class="hint"><span class="key-load">━ load (1 min)</span> · <span class="key-mem">┅ memory used</span> · ${esc(summary)}</p>`;
}

const orNone = (v: string | number | null | undefined) =>
  v === null || v === undefined ? "—" : String(v);

export function renderStatusPage(s: Status): string {
  const stack = s.stack;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ha-stack · status</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/status.js" defer></script>
</head>
<body>
<header class="banner">
<div class="wrap">
<h1>ha-stack status</h1>
<p class="served">Read-only. <a href="/">Back to the page</a></p>
<p id="refresh-status" role="status">Updates every ${REFRESH_MS / 1000} s.</p>
</div>
</header>
<main class="wrap" id="board">
<p class="hint">Served by replica ${esc(s.servedBy.replica)} (${esc(s.servedBy.hostname)}).</p>
<section class="card board" aria-labelledby="stack-heading" id="stack">
<h2 id="stack-heading">Stack</h2>
<dl><dt>Stack</dt><dd>${esc(orNone(stack.name))}</dd><dt>App replicas</dt><dd id="stack-replicas">${esc(orNone(stack.replicas))}</dd><dt>Balancing</dt><dd id="stack-lb">${esc(orNone(stack.lbAlgorithm))}</dd></dl>
</section>
${section("replicas", "App replicas", s.replicas, (rows) =>
  table(
    [
      "Replica",
      "Health",
      "Container",
      "Role",
      "Schema version",
      "Last seen (UTC)",
      "Seconds ago",
      "Started (UTC)",
    ],
    rows.map((r) => [
      String(r.replica),
      r.health,
      r.hostname,
      r.appRole,
      orNone(r.schemaVersion),
      r.lastSeen,
      String(r.secondsAgo),
      r.startedAt,
    ]),
    "No replica has reported in yet.",
    (i) => `health-${rows[i]!.health.replace(" ", "-")}`,
  ),
)}
${section("pool-nodes", "Database nodes (pgpool: SHOW pool_nodes)", s.poolNodes, (nodes) =>
  nodes === null
    ? `<p class="empty">The app talks to PostgreSQL directly here, not through pgpool.</p>`
    : table(
        [
          "Node",
          "Host",
          "Status",
          "pg_status",
          "Role",
          "pg_role",
          "Replication delay",
          "Replication state",
          "Sync state",
          "Last status change",
          "LB weight",
        ],
        nodes.map((n) => [
          n.node_id,
          `${n.hostname}:${n.port}`,
          n.status,
          n.pg_status,
          n.role,
          n.pg_role,
          n.replication_delay,
          orNone(n.replication_state),
          orNone(n.replication_sync_state),
          n.last_status_change,
          n.lb_weight,
        ]),
        "pgpool lists no nodes.",
        (i) => (nodeMismatch(nodes[i]!) ? "mismatch" : ""),
      ),
)}
${section(
  "replication",
  "Replication seen from the primary (pg_stat_replication)",
  s.replication,
  (r) =>
    `<p>Timeline <strong id="timeline">${esc(r.timeline)}</strong></p>` +
    table(
      [
        "Standby",
        "Address",
        "State",
        "Sync",
        "Write lag",
        "Flush lag",
        "Replay lag",
        "Replay lag (bytes)",
      ],
      r.standbys.map((b) => [
        b.name,
        orNone(b.address),
        orNone(b.state),
        orNone(b.syncState),
        orNone(b.writeLag),
        orNone(b.flushLag),
        orNone(b.replayLag),
        orNone(b.replayLagBytes),
      ]),
      "No standby is streaming from the primary.",
    ) +
    (r.standbys.some((b) => b.state === null)
      ? `<p class="hint">State and lag columns are hidden from the app's database role unless it has pg_monitor.</p>`
      : ""),
)}
${section(
  "events",
  "Node state changes and failovers (recorded by the replicas from pgpool)",
  s.events,
  (events) =>
    table(
      ["Since (pgpool)", "Node", "What", "Role", "Status", "Seen by replica"],
      events.map((e) => [
        e.at,
        `${e.nodeId} (${e.node})`,
        e.what,
        e.role,
        e.status,
        String(e.seenBy),
      ]),
      "No node state recorded yet (only behind pgpool).",
      (i) => (events[i]!.what === "promoted to primary" ? "failover" : ""),
    ),
)}
${section("backups", "Backups and WAL archive (pgBackRest; pg_stat_archiver)", s.backups, backupsSection)}
${section("metrics", "Host metrics (collector)", s.metrics, metricsChart)}
</main>
</body>
</html>
`;
}

/** The board's script: refetch /status and swap in its <main> while the tab is visible. */
export const STATUS_JS = `"use strict";
(function () {
  var status = document.getElementById("refresh-status");
  // nginx answers /stack.json with the stack's config (replicas, algorithm); a replica's own
  // environment does not carry it. Straight to a replica it is a 404 and the fields keep "—".
  function fillStack() {
    fetch("/stack.json", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (stack) {
        if (!stack) return;
        // On a swarm nginx.conf leaves the count out (scaling must not restart the edges).
        if (stack.replicas !== undefined) {
          document.getElementById("stack-replicas").textContent = String(stack.replicas);
        }
        document.getElementById("stack-lb").textContent = String(stack.lbAlgorithm);
      })
      .catch(function () {});
  }
  function refresh() {
    if (document.hidden) return;
    fetch("/status", { headers: { accept: "text/html" }, cache: "no-store" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("board");
        var board = document.getElementById("board");
        if (!next || !board) throw new Error("no board in the answer");
        board.replaceWith(document.importNode(next, true));
        fillStack();
        status.textContent = "Updated " + new Date().toISOString().slice(11, 19) + " UTC.";
      })
      .catch(function (e) { status.textContent = "Update failed (" + e.message + "); retrying."; });
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
  setInterval(refresh, ${REFRESH_MS});
  fillStack();
})();
`;
