// The HTML page, its stylesheet and its script. Every value that reaches the markup goes through
// escapeHtml; the script builds DOM nodes with textContent, never innerHTML.
import type { DbNode, MetricsRow, RequestLogEntry } from "./db.js";
import type { User } from "./users.js";

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
  /** The port this replica serves on (the old `?user_id=` answer names it). */
  port: number;
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

/** How often the page refreshes its facts, metrics and request log (milliseconds). */
export const REFRESH_MS = 5_000;

// The three formatters below run on the server (renderPage) and in the browser: PAGE_JS embeds
// their source. They must stay self-contained: no imports, no outer variables but each other.

/** "2026-01-02T08:42:17.024Z" → "08:42:17". */
export function clockTime(iso: string): string {
  return /T(\d\d:\d\d:\d\d)/.exec(iso)?.[1] ?? iso;
}

/** The metrics as label/value pairs, plus how full memory and disk are (0–1). */
export function metricsItems(m: MetricsRow): {
  items: [string, string][];
  memUsed: number;
  diskUsed: number;
} {
  const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  const used = (free: number, total: number) => (total > 0 ? 1 - free / total : 0);
  return {
    items: [
      ["Host", m.hostname],
      ["Collected at", `${clockTime(m.at)} UTC`],
      [
        "Load (1, 5, 15 min)",
        `${m.load1.toFixed(2)} · ${m.load5.toFixed(2)} · ${m.load15.toFixed(2)}`,
      ],
      ["Memory free", `${gib(m.memFreeBytes)} of ${gib(m.memTotalBytes)}`],
      ["Disk free (/)", `${gib(m.diskFreeBytes)} of ${gib(m.diskTotalBytes)}`],
    ],
    memUsed: used(m.memFreeBytes, m.memTotalBytes),
    diskUsed: used(m.diskFreeBytes, m.diskTotalBytes),
  };
}

/** One request-log row: time, method, path, replica, container. */
export function requestCells(r: RequestLogEntry): string[] {
  return [
    /T(\d\d:\d\d:\d\d\.\d+)/.exec(r.at)?.[1] ?? r.at,
    r.method,
    r.path,
    String(r.replica),
    r.hostname,
  ];
}

const REQUEST_CLASSES = ["time", "method", "path", "replica", "container"];

function requestRows(requests: RequestLogEntry[]): string {
  if (requests.length === 0) {
    return `<tr><td colspan="5" class="empty">No requests logged yet.</td></tr>`;
  }
  return requests
    .map((r) => {
      const cells = requestCells(r).map((text, i) => {
        const title = i === 0 ? ` title="${escapeHtml(r.at)}"` : "";
        return `<td class="${REQUEST_CLASSES[i]}"${title}>${escapeHtml(text)}</td>`;
      });
      return `<tr>${cells.join("")}</tr>`;
    })
    .join("\n");
}

function metricsBlock(m: MetricsRow | null): string {
  if (!m) return `<p id="metrics-empty" class="empty">No metrics collected yet.</p>`;
  const { items, memUsed, diskUsed } = metricsItems(m);
  const meter = (label: string, value: number) =>
    `<meter min="0" max="1" low="0.7" high="0.9" optimum="0" value="${value.toFixed(3)}" ` +
    `aria-label="${label} ${Math.round(value * 100)}% used"></meter>`;
  const rows = items.map(([term, value]) => {
    const extra =
      term === "Memory free"
        ? meter("Memory", memUsed)
        : term === "Disk free (/)"
          ? meter("Disk", diskUsed)
          : "";
    return `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}${extra}</dd>`;
  });
  return `<dl>${rows.join("")}</dl>`;
}

function userSection(d: PageData): string {
  const lookup = d.userLookup;
  if (!lookup) return "";
  const body =
    "user" in lookup
      ? `<dl><dt>Id</dt><dd>${escapeHtml(lookup.user.id)}</dd><dt>Name</dt>` +
        `<dd>${escapeHtml(lookup.user.name)}</dd><dt>Key</dt>` +
        `<dd><code id="user-key">${escapeHtml(lookup.user.key)}</code></dd>` +
        `<dt>Served by</dt><dd id="user-served-by">replica ${escapeHtml(d.replica)} ` +
        `(${escapeHtml(d.hostname)}), port ${escapeHtml(d.port)}</dd></dl>`
      : `<p role="alert" class="error">${escapeHtml(lookup.error)}</p>`;
  return `<div id="user-result">${body}</div>`;
}

export function renderPage(d: PageData): string {
  const node = d.dbNode;
  const role = node ? node.role : "unknown";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ha-stack · replica ${escapeHtml(d.replica)}</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
<script src="/socket.io/socket.io.min.js" defer></script>
<script src="/assets/app.js" defer></script>
</head>
<body>
<header class="banner">
<div class="wrap">
<h1>ha-stack</h1>
<p class="served">Page served by <strong>replica ${escapeHtml(d.replica)}</strong> (${escapeHtml(d.hostname)})</p>
<div class="refresh">
<p id="refresh-status">Updates every ${REFRESH_MS / 1000} s without reloading.</p>
<button type="button" id="refresh-toggle" aria-pressed="false">Pause updates</button>
</div>
</div>
</header>
<main class="wrap">
${d.dbError ? `<p role="alert" class="error banner-error">Database unavailable: ${escapeHtml(d.dbError)}</p>` : ""}
<div class="grid">
<section class="card facts" aria-labelledby="served-heading">
<h2 id="served-heading">Who answered</h2>
<p class="hint">The replica and database node behind the latest update, through nginx and pgpool.</p>
<dl id="facts" aria-live="polite">
<dt>Replica</dt><dd id="replica">${escapeHtml(d.replica)} (${escapeHtml(d.appRole)})</dd>
<dt>Container</dt><dd id="hostname">${escapeHtml(d.hostname)}</dd>
<dt>Database node</dt><dd id="db-node">${node ? escapeHtml(`${node.address}:${node.port}`) : "unknown"}</dd>
<dt>Database role</dt><dd><span id="db-role" class="role role-${escapeHtml(role)}">${escapeHtml(role)}</span></dd>
<dt>Schema version</dt><dd id="schema-version">${escapeHtml(d.schemaVersion ?? "none")}</dd>
</dl>
</section>
<section class="card metrics" aria-labelledby="metrics-heading">
<h2 id="metrics-heading">Latest host metrics</h2>
<div id="metrics" aria-live="polite">${metricsBlock(d.metrics)}</div>
</section>
<section class="card chat" aria-labelledby="chat-heading">
<h2 id="chat-heading">Chat</h2>
<p id="chat-status" role="status">Connecting…</p>
<ul id="chat-messages" aria-live="polite" aria-label="Chat messages" tabindex="0"></ul>
<form id="chat-form">
<div class="field name">
<label for="chat-name">Name</label>
<input id="chat-name" name="name" maxlength="40" autocomplete="nickname" placeholder="anonymous">
</div>
<div class="field text">
<label for="chat-text">Message</label>
<input id="chat-text" name="text" maxlength="500" required autocomplete="off">
</div>
<button type="submit">Send</button>
</form>
</section>
</div>
<section class="card requests" aria-labelledby="requests-heading">
<h2 id="requests-heading">Last 25 requests</h2>
<p id="requests-summary" class="hint" aria-live="polite">Newest first, every replica.</p>
<div class="table-scroll">
<table>
<thead><tr><th scope="col">Time (UTC)</th><th scope="col">Method</th><th scope="col">Path</th><th scope="col">Replica</th><th scope="col">Container</th></tr></thead>
<tbody id="requests">
${requestRows(d.requests)}
</tbody>
</table>
</div>
</section>
<section class="card lookup" aria-labelledby="lookup-heading">
<h2 id="lookup-heading">Users</h2>
${userSection(d)}
<form method="get" action="/">
<div class="field">
<label for="user_id">User id (1–7 are seeded)</label>
<input id="user_id" name="user_id" inputmode="numeric" pattern="[0-9]+" required>
</div>
<button type="submit">Show key</button>
</form>
<h3>Add a user</h3>
<p class="hint">Needs the admin token (stack output <code>adminToken</code>); this tab keeps it until it closes.</p>
<form id="user-add-form">
<div class="field">
<label for="admin-token">Admin token</label>
<input id="admin-token" type="password" autocomplete="off" required>
</div>
<div class="field">
<label for="new-user-name">User name</label>
<input id="new-user-name" maxlength="100" required autocomplete="off">
</div>
<div class="field">
<label for="new-user-key">Key (empty: generated)</label>
<input id="new-user-key" maxlength="128" pattern="[A-Za-z0-9._~\-]{8,128}" autocomplete="off">
</div>
<button type="submit">Add user</button>
</form>
<p id="user-add-result" role="status"></p>
</section>
</main>
<footer class="wrap">
<p>nginx → app replicas → pgpool → PostgreSQL primary + standby. Reads go to the standby, writes (and reads of users) to the primary. <a href="/status">Status board</a></p>
</footer>
</body>
</html>
`;
}

export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f3a5f"/><path d="M4 4v8M12 4v8M4 8h8" stroke="#fff" stroke-width="2"/></svg>`;

export const PAGE_CSS = `:root{--ink:#1b1f24;--muted:#4f5964;--line:#d0d7de;--bg:#f3f5f8;--card:#fff;--accent:#1f3a5f}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:var(--bg);color:var(--ink);line-height:1.45}
.wrap{max-width:72rem;margin:0 auto;padding:0 1rem}
.banner{background:var(--accent);color:#fff;padding:0.75rem 0}
.banner .wrap{display:flex;flex-wrap:wrap;align-items:center;gap:0.5rem 1.5rem}
.banner h1{font-size:1.5rem;margin:0}
.banner p{margin:0}
.served{flex:1 1 auto}
.refresh{display:flex;align-items:center;gap:0.75rem;font-size:0.9rem}
.refresh button{background:#fff;color:var(--accent);border:0}
main.wrap{padding-top:1rem;padding-bottom:1rem}
.grid{display:grid;gap:1rem;grid-template-columns:1fr}
@media (min-width:60rem){.grid{grid-template-columns:minmax(0,1fr) minmax(0,1.3fr);grid-template-areas:"facts chat" "metrics chat"}
.facts{grid-area:facts}.metrics{grid-area:metrics}.chat{grid-area:chat}}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:0.75rem 1rem 1rem;margin:0}
.requests,.lookup{margin-top:1rem}
h2{font-size:1.1rem;margin:0 0 0.5rem}
.hint{color:var(--muted);font-size:0.9rem;margin:0 0 0.5rem}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:0.35rem 1rem;margin:0}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
meter{display:block;width:100%;max-width:14rem;height:0.6rem;margin-top:0.2rem}
.role{display:inline-block;padding:0 0.5rem;border-radius:999px;font-weight:600;font-size:0.9rem}
.role-standby{background:#dafbe1;color:#0f5323}
.role-primary{background:#fff1cc;color:#6b4200}
.role-unknown{background:#eaeef2;color:var(--ink)}
.chat{display:flex;flex-direction:column}
#chat-status{margin:0 0 0.5rem;color:var(--muted);font-size:0.9rem}
#chat-messages{list-style:none;margin:0 0 0.75rem;padding:0.5rem;flex:1 1 auto;min-height:10rem;max-height:22rem;overflow-y:auto;border:1px solid var(--line);border-radius:6px;background:#fafbfc}
#chat-messages:empty::before{content:"No messages yet. Say hello: everyone on any replica sees it.";color:var(--muted)}
#chat-messages li{padding:0.3rem 0.25rem;border-bottom:1px solid #eaeef2}
#chat-messages li:last-child{border-bottom:0}
.msg-name{font-weight:600}
.msg-meta{color:var(--muted);font-size:0.8rem;margin-left:0.5rem}
.msg-text{display:block;overflow-wrap:anywhere}
form{display:flex;flex-wrap:wrap;align-items:flex-end;gap:0.5rem 0.75rem}
.field{display:flex;flex-direction:column;gap:0.2rem}
.field.name{flex:0 1 10rem}.field.text{flex:1 1 14rem}
label{font-weight:600;font-size:0.9rem}
input{font:inherit;padding:0.35rem 0.5rem;border:1px solid #8c959f;border-radius:6px;min-width:0}
button{font:inherit;padding:0.35rem 0.9rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button:hover{filter:brightness(1.15)}
:focus-visible{outline:3px solid #0969da;outline-offset:2px}
.table-scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:0.9rem}
th,td{text-align:left;padding:0.3rem 0.6rem;border-bottom:1px solid #eaeef2;vertical-align:top}
thead th{border-bottom:2px solid var(--line);white-space:nowrap}
tbody tr:nth-child(even){background:#f6f8fa}
td.time,td.method,td.replica,td.container{width:1%;white-space:nowrap}
td.time{font-variant-numeric:tabular-nums}
td.path{font-family:ui-monospace,monospace;word-break:break-all}
.empty{color:var(--muted)}
.error{color:#a40e26;font-weight:600}
.banner-error{background:#ffebe9;border:1px solid #ff8182;border-radius:8px;padding:0.5rem 1rem}
footer{color:var(--muted);font-size:0.85rem;padding-bottom:1.5rem}
h3{font-size:1rem;margin:1rem 0 0.25rem}
.banner a{color:#fff}
.board{margin-top:1rem}
tr.health-up td:nth-child(2){color:#0f5323;font-weight:600}
tr.health-silent td:nth-child(2),tr.health-not-ready td:nth-child(2){color:#a40e26;font-weight:600}
tr.health-removed{color:var(--muted)}
tr.mismatch,tr.failover{background:#fff1cc}
.chart{max-width:100%;height:auto;display:block}
.key-load{color:#1f3a5f}.key-mem{color:#7d5800}
`;

/**
 * The page's script: chat over socket.io (websocket transport only, so no sticky sessions are
 * needed) and, every REFRESH_MS while the page is visible and not paused, a refresh of the
 * facts, the metrics and the request log from /api/info. Only changed values are written, so
 * the aria-live regions announce changes, not every tick.
 */
export const PAGE_JS = `"use strict";
(function () {
  ${clockTime.toString()}
  ${metricsItems.toString()}
  ${requestCells.toString()}
  var REQUEST_CLASSES = ${JSON.stringify(REQUEST_CLASSES)};
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function setText(node, text) { if (node && node.textContent !== text) node.textContent = text; }

  var status = $("chat-status");
  var list = $("chat-messages");
  function show(m) {
    var li = el("li");
    li.appendChild(el("span", "msg-name", m.name));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "msg-meta", "(replica " + m.replica + ", " + clockTime(m.at) + ")"));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", "msg-text", m.text));
    list.appendChild(li);
    while (list.children.length > 200) list.removeChild(list.firstChild);
    list.scrollTop = list.scrollHeight;
  }
  if (typeof io === "function") {
    var socket = io({ transports: ["websocket"] });
    socket.on("connect", function () { setText(status, "Connected."); });
    socket.on("chat welcome", function (w) {
      setText(status, "Connected to replica " + w.replica + " (" + w.hostname + ").");
    });
    socket.on("disconnect", function () { setText(status, "Disconnected; reconnecting…"); });
    socket.on("connect_error", function () { setText(status, "Cannot reach the chat; retrying…"); });
    socket.on("chat message", show);
    $("chat-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var text = $("chat-text");
      socket.emit("chat message", { name: $("chat-name").value, text: text.value }, function (ack) {
        if (ack && ack.ok) { text.value = ""; text.focus(); }
        else { setText(status, (ack && ack.error) || "Not sent."); }
      });
    });
  } else {
    setText(status, "Chat client failed to load.");
  }

  function renderFacts(info) {
    setText($("replica"), info.replica + " (" + info.appRole + ")");
    setText($("hostname"), info.hostname);
    setText($("db-node"), info.dbNode);
    var role = $("db-role");
    setText(role, info.dbRole);
    role.className = "role role-" + info.dbRole;
    setText($("schema-version"), info.schemaVersion || "none");
  }
  var lastMetricsAt = null;
  function renderMetrics(m) {
    if (!m || m.at === lastMetricsAt) return;
    lastMetricsAt = m.at;
    var f = metricsItems(m);
    var dl = el("dl");
    f.items.forEach(function (p) {
      dl.appendChild(el("dt", "", p[0]));
      var dd = el("dd", "", p[1]);
      var used = p[0] === "Memory free" ? ["Memory", f.memUsed] : p[0] === "Disk free (/)" ? ["Disk", f.diskUsed] : null;
      if (used) {
        var meter = el("meter");
        meter.min = 0; meter.max = 1; meter.low = 0.7; meter.high = 0.9; meter.optimum = 0;
        meter.value = used[1];
        meter.setAttribute("aria-label", used[0] + " " + Math.round(used[1] * 100) + "% used");
        dd.appendChild(meter);
      }
      dl.appendChild(dd);
    });
    var box = $("metrics");
    box.textContent = "";
    box.appendChild(dl);
  }
  var newestRequest = null;
  function renderRequests(requests) {
    var newest = requests.length ? requests[0].id : null;
    if (newest === newestRequest) return;
    var fresh = newestRequest === null ? 0 : requests.filter(function (q) { return q.id > newestRequest; }).length;
    newestRequest = newest;
    var body = $("requests");
    body.textContent = "";
    requests.forEach(function (q) {
      var tr = el("tr");
      requestCells(q).forEach(function (text, i) {
        var td = el("td", REQUEST_CLASSES[i], text);
        if (i === 0) td.title = q.at;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    setText($("requests-summary"), fresh > 0
      ? "Newest first, every replica. " + (fresh >= requests.length ? requests.length + "+" : fresh) + " new since the last update."
      : "Newest first, every replica.");
  }

  var TOKEN_KEY = "ha-stack-admin-token";
  var tokenInput = $("admin-token");
  var addForm = $("user-add-form");
  if (tokenInput && addForm) {
    try { tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { /* storage off */ }
    tokenInput.addEventListener("input", function () {
      try { sessionStorage.setItem(TOKEN_KEY, tokenInput.value); } catch (e) { /* storage off */ }
    });
    addForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var out = $("user-add-result");
      var body = { name: $("new-user-name").value };
      if ($("new-user-key").value) body.key = $("new-user-key").value;
      fetch("/api/users", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer " + tokenInput.value },
        body: JSON.stringify(body)
      })
        .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
        .then(function (x) {
          out.className = x.ok ? "" : "error";
          out.textContent = x.ok
            ? "Added user " + x.j.id + " (" + x.j.name + "), key " + x.j.key + "."
            : "Not added: " + x.j.message;
        })
        .catch(function (err) { out.className = "error"; out.textContent = "Not added: " + err.message; });
    });
  }

  var paused = false;
  var refreshStatus = $("refresh-status");
  function refresh() {
    if (paused || document.hidden) return;
    fetch("/api/info", { headers: { accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status)); })
      .then(function (info) {
        renderFacts(info);
        renderMetrics(info.metrics);
        renderRequests(info.requests);
        setText(refreshStatus, "Updated " + new Date().toISOString().slice(11, 19) + " UTC from replica " + info.replica + ".");
      })
      .catch(function (e) { setText(refreshStatus, "Update failed (" + e.message + "); retrying."); });
  }
  var toggle = $("refresh-toggle");
  toggle.addEventListener("click", function () {
    paused = !paused;
    toggle.setAttribute("aria-pressed", String(paused));
    toggle.textContent = paused ? "Resume updates" : "Pause updates";
    if (paused) setText(refreshStatus, "Updates paused.");
    else refresh();
  });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
  setInterval(refresh, ${REFRESH_MS});
})();
`;
