// The HTML page. Every value that reaches the markup goes through escapeHtml.
import type { DbNode, MetricsRow, RequestLogEntry, User } from "./db.js";

export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

export interface PageData {
  replica: number;
  hostname: string;
  appRole: string;
  dbNode: DbNode | null;
  schemaVersion: string | null;
  requests: RequestLogEntry[];
  metrics: MetricsRow | null;
  /** Set when the page was asked for `?user_id=`. */
  userLookup?: { user: User } | { error: string };
  /** Set when the database could not be read. */
  dbError?: string;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

function requestRows(requests: RequestLogEntry[]): string {
  if (requests.length === 0) return `<tr><td colspan="5">No requests logged yet.</td></tr>`;
  return requests
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.at)}</td><td>${escapeHtml(r.method)}</td>` +
        `<td class="path">${escapeHtml(r.path)}</td><td>${escapeHtml(r.replica)}</td>` +
        `<td>${escapeHtml(r.hostname)}</td></tr>`,
    )
    .join("\n");
}

function metricsList(m: MetricsRow | null): string {
  if (!m) return `<p id="metrics-empty">No metrics collected yet.</p>`;
  const item = (term: string, value: string) =>
    `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd>`;
  return [
    "<dl>",
    item("Host", m.hostname),
    item("Collected at", m.at),
    item(
      "Load (1, 5, 15 min)",
      `${m.load1.toFixed(2)} ${m.load5.toFixed(2)} ${m.load15.toFixed(2)}`,
    ),
    item("Memory free", `${mib(m.memFreeBytes)} of ${mib(m.memTotalBytes)}`),
    item("Disk free (/)", `${gib(m.diskFreeBytes)} of ${gib(m.diskTotalBytes)}`),
    "</dl>",
  ].join("\n");
}

function userSection(lookup: PageData["userLookup"]): string {
  if (!lookup) return "";
  const body =
    "user" in lookup
      ? `<dl><dt>Id</dt><dd>${escapeHtml(lookup.user.id)}</dd><dt>Name</dt>` +
        `<dd>${escapeHtml(lookup.user.name)}</dd><dt>Key</dt>` +
        `<dd><code id="user-key">${escapeHtml(lookup.user.key)}</code></dd></dl>`
      : `<p role="alert" class="error">${escapeHtml(lookup.error)}</p>`;
  return `<section aria-labelledby="user-heading"><h2 id="user-heading">User</h2>${body}</section>`;
}

export function renderPage(d: PageData): string {
  const node = d.dbNode;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ha-stack · replica ${escapeHtml(d.replica)}</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/socket.io/socket.io.min.js" defer></script>
<script src="/assets/app.js" defer></script>
</head>
<body>
<main>
<h1>ha-stack</h1>
${d.dbError ? `<p role="alert" class="error">Database unavailable: ${escapeHtml(d.dbError)}</p>` : ""}
<section aria-labelledby="served-heading">
<h2 id="served-heading">Who answered</h2>
<dl>
<dt>Replica</dt><dd id="replica">${escapeHtml(d.replica)} (${escapeHtml(d.appRole)})</dd>
<dt>Container</dt><dd id="hostname">${escapeHtml(d.hostname)}</dd>
<dt>Database node</dt><dd id="db-node">${node ? escapeHtml(`${node.address}:${node.port}`) : "unknown"}</dd>
<dt>Database role</dt><dd id="db-role">${node ? escapeHtml(node.role) : "unknown"}</dd>
<dt>Schema version</dt><dd id="schema-version">${escapeHtml(d.schemaVersion ?? "none")}</dd>
</dl>
</section>
${userSection(d.userLookup)}
<section aria-labelledby="lookup-heading">
<h2 id="lookup-heading">Look up a user</h2>
<form method="get" action="/">
<label for="user_id">User id (1–7 are seeded)</label>
<input id="user_id" name="user_id" inputmode="numeric" pattern="[0-9]+" required>
<button type="submit">Show key</button>
</form>
</section>
<section aria-labelledby="chat-heading">
<h2 id="chat-heading">Chat</h2>
<p id="chat-status" role="status">Connecting…</p>
<ul id="chat-messages" aria-live="polite"></ul>
<form id="chat-form">
<label for="chat-name">Name</label>
<input id="chat-name" name="name" maxlength="40" autocomplete="nickname">
<label for="chat-text">Message</label>
<input id="chat-text" name="text" maxlength="500" required>
<button type="submit">Send</button>
</form>
</section>
<section aria-labelledby="metrics-heading">
<h2 id="metrics-heading">Latest host metrics</h2>
<div id="metrics">${metricsList(d.metrics)}</div>
</section>
<section aria-labelledby="requests-heading">
<h2 id="requests-heading">Last 25 requests</h2>
<table>
<caption>Newest first; refreshed every 5 seconds</caption>
<thead><tr><th scope="col">Time (UTC)</th><th scope="col">Method</th><th scope="col">Path</th><th scope="col">Replica</th><th scope="col">Container</th></tr></thead>
<tbody id="requests">
${requestRows(d.requests)}
</tbody>
</table>
</section>
</main>
</body>
</html>
`;
}

export const PAGE_CSS = `body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
main{max-width:60rem;margin:0 auto;padding:1rem}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:0.5rem 1rem;margin:1rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:0.25rem 1rem}
dt{font-weight:600}dd{margin:0}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:0.25rem 0.5rem;border-bottom:1px solid #d0d7de}
td.path{word-break:break-all}
caption{text-align:left;color:#57606a}
.error{color:#a40e26;font-weight:600}
label{display:block;margin-top:0.5rem}
input{font:inherit;padding:0.25rem}
button{font:inherit;margin-top:0.5rem}
#chat-messages{list-style:none;padding:0;max-height:15rem;overflow-y:auto}
`;

/**
 * The page's script: chat over socket.io (websocket transport only, so no sticky sessions are
 * needed) and a refresh of the facts and the request log from /api/info every 5 seconds.
 * It builds DOM nodes with textContent, never innerHTML.
 */
export const PAGE_JS = `"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var status = $("chat-status");
  var list = $("chat-messages");
  function say(text) {
    var li = document.createElement("li");
    li.textContent = text;
    list.appendChild(li);
    list.scrollTop = list.scrollHeight;
  }
  if (typeof io === "function") {
    var socket = io({ transports: ["websocket"] });
    socket.on("connect", function () { status.textContent = "Connected."; });
    socket.on("disconnect", function () { status.textContent = "Disconnected; reconnecting…"; });
    socket.on("connect_error", function () { status.textContent = "Cannot reach the chat; retrying…"; });
    socket.on("chat message", function (m) {
      say("[replica " + m.replica + "] " + m.name + ": " + m.text);
    });
    $("chat-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var text = $("chat-text");
      socket.emit("chat message", { name: $("chat-name").value, text: text.value }, function (ack) {
        if (ack && ack.ok) { text.value = ""; } else { status.textContent = (ack && ack.error) || "Not sent."; }
      });
    });
  } else {
    status.textContent = "Chat client failed to load.";
  }
  function cell(row, text) { var td = document.createElement("td"); td.textContent = String(text); row.appendChild(td); return td; }
  function refresh() {
    fetch("/api/info", { headers: { accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status)); })
      .then(function (info) {
        $("replica").textContent = info.replica + " (" + info.appRole + ")";
        $("hostname").textContent = info.hostname;
        $("db-node").textContent = info.dbNode;
        $("db-role").textContent = info.dbRole;
        $("schema-version").textContent = info.schemaVersion || "none";
        var body = $("requests");
        body.textContent = "";
        info.requests.forEach(function (q) {
          var tr = document.createElement("tr");
          cell(tr, q.at); cell(tr, q.method); cell(tr, q.path).className = "path"; cell(tr, q.replica); cell(tr, q.hostname);
          body.appendChild(tr);
        });
        var m = info.metrics;
        if (m) {
          var dl = document.createElement("dl");
          [["Host", m.hostname], ["Collected at", m.at],
           ["Load (1, 5, 15 min)", m.load1.toFixed(2) + " " + m.load5.toFixed(2) + " " + m.load15.toFixed(2)],
           ["Memory free", Math.round(m.memFreeBytes / 1048576) + " MiB of " + Math.round(m.memTotalBytes / 1048576) + " MiB"],
           ["Disk free (/)", (m.diskFreeBytes / 1073741824).toFixed(1) + " GiB of " + (m.diskTotalBytes / 1073741824).toFixed(1) + " GiB"]
          ].forEach(function (p) {
            var dt = document.createElement("dt"); dt.textContent = p[0];
            var dd = document.createElement("dd"); dd.textContent = p[1];
            dl.appendChild(dt); dl.appendChild(dd);
          });
          var box = $("metrics"); box.textContent = ""; box.appendChild(dl);
        }
      })
      .catch(function () { /* keep the last good values; the next tick retries */ });
  }
  setInterval(refresh, 5000);
})();
`;
