// The jetkube dashboard page: one EventSource on /api/watch keeps every table current (a snapshot,
// then changes); nothing polls. Rows arrive shaped by the server (actors/dashboard/views.py), so
// the page only lays them out. Actions (scale, delete, logs) call the JSON API.
"use strict";

const TITLES = {
  deployments: "Deployments", replicasets: "ReplicaSets", replicationcontrollers: "ReplicationControllers",
  statefulsets: "StatefulSets", daemonsets: "DaemonSets", jobs: "Jobs", cronjobs: "CronJobs",
  horizontalpodautoscalers: "HorizontalPodAutoscalers",
};
const CHART_W = 120, CHART_H = 26;
const SVG_NS = "http://www.w3.org/2000/svg";
const ROW_TESTID = { nodes: "node-row", pods: "pod-row", events: "event-row" };

const state = {
  namespace: new URLSearchParams(location.search).get("namespace") ?? "default",
  namespaces: [],
  workloads: [],
  tables: {},            // resource -> {columns: [...], rows: Map(key -> row)}
  clockOffset: 0,        // server time - browser time, ms
  source: null,
  drafts: new Map(),     // workload key -> replicas typed but not yet sent
  confirming: null,      // the pod key whose Delete button waits for a second click
  logs: null,            // {namespace, name, containers}
  renderTimer: null,
  metrics: new Map(),    // "node/<name>" | "pod/<ns>/<name>" -> [[t, cpuMilli, memoryBytes], ...] oldest first
  window: 3600,          // seconds of history the charts span (the server's window)
  historyLoads: 0,       // which history request is the latest (an older answer is dropped)
};

// ------------------------------------------------------------------------------------- helpers

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// kubectl's HumanDuration (schemas/printing/age.py), so that ages stay current between changes.
function humanDuration(seconds) {
  const s = Math.floor(seconds);
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const hours = Math.floor(s / 3600);
  if (hours < 8) return m % 60 ? `${hours}h${m % 60}m` : `${hours}h`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 ? `${days}d${hours % 24}h` : `${days}d`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 ? `${years}y${days % 365}d` : `${years}y`;
  return `${years}y`;
}

function ageOf(timestamp) {
  const t = Date.parse(timestamp);
  if (!timestamp || Number.isNaN(t)) return "<unknown>";
  return humanDuration((Date.now() + state.clockOffset - t) / 1000);
}

function say(text, isError = false) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.classList.toggle("error", isError);
  box.hidden = !text;
}

// A dashboard listening beyond loopback prints its URL with #token=...: writes carry it.
const dashboardToken = (() => {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem("jetkube-dashboard-token", m[1]);
    history.replaceState(null, "", location.pathname + location.search); // the hash is the view's
  }
  return sessionStorage.getItem("jetkube-dashboard-token");
})();

async function call(method, url, body) {
  const init = { method, headers: {} };
  if (dashboardToken && method !== "GET") init.headers["X-Dashboard-Token"] = dashboardToken;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(url, init);
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(data.message || `${resp.status} ${resp.statusText}`);
  return data;
}

// --------------------------------------------------------------------------------- live stream

function connect() {
  if (state.source) state.source.close();
  const query = state.namespace ? `?namespace=${encodeURIComponent(state.namespace)}` : "";
  const source = new EventSource(`/api/watch${query}`);
  state.source = source;
  source.addEventListener("snapshot", (e) => { applySnapshot(JSON.parse(e.data)); setLive("live", "on"); });
  source.addEventListener("changes", (e) => applyChanges(JSON.parse(e.data)));
  source.addEventListener("metrics", (e) => applyMetrics(JSON.parse(e.data)));
  source.addEventListener("error", () => {
    setLive("reconnecting…", "off");
    if (source.readyState === EventSource.CLOSED && state.source === source) setTimeout(connect, 2000);
  });
}

function setLive(text, cls) {
  const badge = document.getElementById("live");
  badge.textContent = text;
  badge.className = `live ${cls}`;
}

function applySnapshot(snap) {
  if (snap.now) state.clockOffset = Date.parse(snap.now) - Date.now();
  state.namespaces = snap.namespaces;
  state.workloads = snap.workloads;
  state.tables = {};
  for (const [resource, table] of Object.entries(snap.tables)) {
    state.tables[resource] = { columns: table.columns, rows: new Map(table.items.map((r) => [r.key, r])) };
  }
  renderNamespaces();
  scheduleRender(0);
  loadHistory();
}

// ------------------------------------------------------------------------------------ metrics

// The charts start from the server's history (/api/metrics/history), then grow with the stream's
// `metrics` messages: one point per series per kubelet sample, no polling.
async function loadHistory() {
  const load = ++state.historyLoads;
  const query = state.namespace ? `&namespace=${encodeURIComponent(state.namespace)}` : "";
  try {
    const data = await call("GET", `/api/metrics/history?kind=node,pod${query}`);
    if (load !== state.historyLoads) return;
    if (data.window) state.window = data.window;
    const fresh = new Map();
    for (const series of data.series) fresh.set(`${series.kind}/${series.key}`, series.points);
    for (const [key, points] of state.metrics) {  // points that arrived while the request was out
      const have = fresh.get(key) || [];
      const last = have.length ? have[have.length - 1][0] : -Infinity;
      fresh.set(key, [...have, ...points.filter((p) => p[0] > last)]);
    }
    state.metrics = fresh;
    scheduleRender(0);
  } catch (err) {
    say(`metrics history: ${err.message}`, true);
  }
}

function applyMetrics(message) {
  const horizon = Date.now() / 1000 + state.clockOffset / 1000 - state.window;
  for (const sample of message.samples) {
    const key = `${sample.kind}/${sample.key}`;
    const points = state.metrics.get(key) || [];
    if (points.length && points[points.length - 1][0] >= sample.point[0]) continue;
    points.push(sample.point);
    while (points.length && points[0][0] < horizon) points.shift();
    state.metrics.set(key, points);
  }
  scheduleRender();
}

function formatCpu(milli) { return `${Math.ceil(milli)}m`; }
function formatMemory(bytes) { return `${Math.floor(bytes / (1024 * 1024))}Mi`; }

// One small SVG line chart of a series' figure over the last window (time on x, 0..max on y).
function sparkline(points, index, what, format) {
  const svg = document.createElementNS(SVG_NS, "svg");
  const now = Date.now() / 1000 + state.clockOffset / 1000;
  const shown = points.filter((p) => p[0] >= now - state.window);
  // the last hour; while the history is younger than that, the time it has (at least a minute)
  const span = Math.min(state.window, Math.max(60, shown.length ? now - shown[0][0] : state.window));
  const start = now - span;
  const max = Math.max(1e-9, ...shown.map((p) => p[index]));
  const xy = shown.map((p) => [
    Math.max(2, ((p[0] - start) / span) * (CHART_W - 4) + 2),
    CHART_H - 2 - (p[index] / max) * (CHART_H - 6),
  ]);
  const last = shown.length ? format(shown[shown.length - 1][index]) : "no samples yet";
  for (const [name, value] of Object.entries({
    width: CHART_W, height: CHART_H, viewBox: `0 0 ${CHART_W} ${CHART_H}`, class: `chart ${what}`,
    "data-testid": `chart-${what}`, "data-points": shown.length, role: "img",
    "aria-label": `${what === "cpu" ? "CPU" : "memory"} over the last ${Math.round(span / 60)} min: now ${last},`
      + ` peak ${format(max)}`,
  })) svg.setAttribute(name, String(value));
  const frame = document.createElementNS(SVG_NS, "rect");
  for (const [n, v] of Object.entries({ x: 0.5, y: 0.5, width: CHART_W - 1, height: CHART_H - 1, class: "frame" })) {
    frame.setAttribute(n, String(v));
  }
  svg.append(frame);
  if (xy.length) {
    const line = document.createElementNS(SVG_NS, "polyline");
    line.setAttribute("points", xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
    svg.append(line);
    const dot = document.createElementNS(SVG_NS, "circle");
    const [x, y] = xy[xy.length - 1];
    for (const [n, v] of Object.entries({ cx: x.toFixed(1), cy: y.toFixed(1), r: 2 })) dot.setAttribute(n, v);
    svg.append(dot);
  }
  const title = document.createElementNS(SVG_NS, "title");
  title.textContent = `${what === "cpu" ? "CPU" : "Memory"}: ${last}`;
  svg.append(title);
  return svg;
}

function chartsCell(kind, row) {
  const points = state.metrics.get(`${kind}/${row.key}`) || [];
  const latest = points.length ? points[points.length - 1] : null;
  return h("td", { class: "charts", "data-testid": "charts", "data-key": row.key },
    h("span", { class: "chart-pair" }, sparkline(points, 1, "cpu", formatCpu),
      h("span", { class: "figure" }, latest ? formatCpu(latest[1]) : "–")),
    h("span", { class: "chart-pair" }, sparkline(points, 2, "memory", formatMemory),
      h("span", { class: "figure" }, latest ? formatMemory(latest[2]) : "–")));
}

function applyChanges(changes) {
  for (const change of changes) {
    if (change.resource === "namespaces") {
      const names = new Set(state.namespaces);
      if (change.type === "delete") names.delete(change.key);
      else names.add(change.key);
      state.namespaces = [...names].sort();
      renderNamespaces();
      continue;
    }
    const table = state.tables[change.resource];
    if (!table) continue;
    if (change.type === "delete") table.rows.delete(change.key);
    else table.rows.set(change.key, change.row);
  }
  scheduleRender();
}

function scheduleRender(delay = 50) {
  if (state.renderTimer !== null) return;
  state.renderTimer = setTimeout(() => { state.renderTimer = null; render(); }, delay);
}

// ------------------------------------------------------------------------------------- render

function render() {
  const focused = document.activeElement;
  const refocus = focused && focused.dataset ? { testid: focused.dataset.testid, key: focused.dataset.key } : null;
  renderSimple("nodes");
  renderWorkloads();
  renderSimple("pods");
  renderSimple("events");
  for (const el of document.querySelectorAll("[data-count]")) {
    const what = el.dataset.count;
    const n = what === "workloads"
      ? state.workloads.reduce((sum, r) => sum + (state.tables[r]?.rows.size || 0), 0)
      : state.tables[what]?.rows.size || 0;
    el.textContent = `(${n})`;
  }
  if (refocus && refocus.key) {
    const again = document.querySelector(`[data-testid="${refocus.testid}"][data-key="${CSS.escape(refocus.key)}"]`);
    if (again) again.focus();
  }
  document.body.dataset.rendered = String(Date.now());
}

function sortedRows(resource) {
  const rows = [...(state.tables[resource]?.rows.values() || [])];
  if (resource === "events") return rows.sort((a, b) => (b.created || "").localeCompare(a.created || ""));
  return rows.sort((a, b) => (a.namespace + "/" + a.name).localeCompare(b.namespace + "/" + b.name));
}

function cell(resource, row, header, value) {
  if (header === "AGE") return h("td", { class: "age", "data-created": row.created }, ageOf(row.created));
  if (header === "STATUS" && row.tone) return h("td", {}, h("span", { class: `tone ${row.tone}` }, value));
  if (resource === "events" && header === "TYPE") return h("td", {}, h("span", { class: `tone ${row.tone}` }, value));
  if (resource === "events" && header === "MESSAGE") return h("td", { class: "msg" }, value);
  return h("td", {}, value);
}

function buildTable(resource, extraHeaders, rowAttrs, extraCells) {
  const table = state.tables[resource];
  const rows = sortedRows(resource);
  const withNs = !state.namespace && resource !== "nodes";
  const headers = [...(withNs ? ["NAMESPACE"] : []), ...table.columns, ...extraHeaders];
  const caption = TITLES[resource] || resource;
  return h("table", { "data-testid": `${resource}-table`, "aria-label": caption },
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.map((row) => h("tr", {
      "data-testid": ROW_TESTID[resource] || "workload-row",
      "data-key": row.key, "data-name": row.name, "data-namespace": row.namespace,
      "data-resource": resource, "data-status": row.status, ...rowAttrs(row),
    },
    withNs ? h("td", {}, row.namespace) : null,
    table.columns.map((header, i) => cell(resource, row, header, row.cells[i])),
    extraCells(row)))));
}

function renderSimple(resource) {
  const box = document.getElementById(resource);
  const table = state.tables[resource];
  if (!table || table.rows.size === 0) {
    box.replaceChildren(h("p", { class: "empty", "data-testid": `${resource}-empty` },
      resource === "nodes" ? "No nodes." : `No ${resource} in ${state.namespace || "any namespace"}.`));
    return;
  }
  if (resource === "pods") {
    box.replaceChildren(buildTable("pods", ["CPU · MEMORY (1h)", "ACTIONS"], () => ({}),
      (row) => [chartsCell("pod", row), podActions(row)]));
  } else if (resource === "nodes") {
    box.replaceChildren(buildTable("nodes", ["CPU · MEMORY (1h)"], () => ({}), (row) => chartsCell("node", row)));
  } else box.replaceChildren(buildTable(resource, [], () => ({}), () => null));
}

function renderWorkloads() {
  const box = document.getElementById("workloads");
  const parts = [];
  for (const resource of state.workloads) {
    const table = state.tables[resource];
    if (!table || table.rows.size === 0) continue;
    const scalable = [...table.rows.values()].some((r) => r.replicas !== undefined);
    parts.push(h("h3", {}, TITLES[resource] || resource));
    parts.push(buildTable(resource, scalable ? ["SCALE"] : [], (row) => ({ "data-replicas": row.replicas }),
      (row) => (row.replicas === undefined ? null : scaleControl(resource, row))));
  }
  if (!parts.length) parts.push(h("p", { class: "empty", "data-testid": "workloads-empty" },
    `No workloads in ${state.namespace || "any namespace"}.`));
  box.replaceChildren(...parts);
}

function scaleControl(resource, row) {
  const draft = state.drafts.get(row.key);
  const input = h("input", {
    type: "number", min: "0", step: "1", class: "replicas", value: draft ?? row.replicas,
    "data-testid": "scale-input", "data-key": row.key, "aria-label": `Replicas of ${row.name}`,
    oninput: (e) => state.drafts.set(row.key, e.target.value),
    onkeydown: (e) => { if (e.key === "Enter") scale(resource, row, input.value); },
  });
  return h("td", {}, h("span", { class: "scale" }, input,
    h("button", {
      type: "button", class: "act", "data-testid": "scale-button", "data-key": row.key,
      "aria-label": `Scale ${row.name}`, onclick: () => scale(resource, row, input.value),
    }, "Scale")));
}

function podActions(row) {
  const confirming = state.confirming === row.key;
  return h("td", {},
    h("button", {
      type: "button", class: "act", "data-testid": "logs-button", "data-key": row.key,
      "aria-label": `Logs of ${row.name}`, onclick: () => openLogs(row),
    }, "Logs"), " ",
    h("button", {
      type: "button", class: `act danger${confirming ? " confirm" : ""}`, "data-testid": "delete-button",
      "data-key": row.key, "aria-label": confirming ? `Confirm: delete ${row.name}` : `Delete ${row.name}`,
      onclick: () => deletePod(row),
    }, confirming ? "Confirm delete" : "Delete"));
}

function renderNamespaces() {
  const select = document.getElementById("namespace");
  const names = new Set(state.namespaces);
  if (state.namespace) names.add(state.namespace);
  select.replaceChildren(h("option", { value: "" }, "All namespaces"),
    ...[...names].sort().map((n) => h("option", { value: n }, n)));
  select.value = state.namespace;
}

// ------------------------------------------------------------------------------------- actions

async function scale(resource, row, value) {
  const replicas = Number(value);
  if (value === "" || !Number.isInteger(replicas) || replicas < 0) {
    say(`replicas: must be a whole number of 0 or more, not "${value}"`, true);
    return;
  }
  try {
    await call("POST", `/api/scale/${resource}/${encodeURIComponent(row.namespace)}/${encodeURIComponent(row.name)}`,
      { replicas });
    state.drafts.delete(row.key);
    say(`${TITLES[resource] || resource} ${row.name} scaled to ${replicas}`);
  } catch (err) {
    say(`scale ${row.name}: ${err.message}`, true);
  }
}

async function deletePod(row) {
  if (state.confirming !== row.key) {
    state.confirming = row.key;
    setTimeout(() => { if (state.confirming === row.key) { state.confirming = null; scheduleRender(0); } }, 5000);
    scheduleRender(0);
    return;
  }
  state.confirming = null;
  try {
    await call("DELETE", `/api/pods/${encodeURIComponent(row.namespace)}/${encodeURIComponent(row.name)}`);
    say(`pod ${row.name} deleted`);
  } catch (err) {
    say(`delete ${row.name}: ${err.message}`, true);
  }
  scheduleRender(0);
}

function openLogs(row) {
  state.logs = { namespace: row.namespace, name: row.name };
  document.getElementById("logs").hidden = false;
  document.getElementById("logs-title").textContent = `Logs: ${row.namespace}/${row.name}`;
  const select = document.getElementById("logs-container");
  select.replaceChildren(...(row.containers || []).map((c) => h("option", { value: c }, c)));
  loadLogs();
}

async function loadLogs() {
  if (!state.logs) return;
  const { namespace, name } = state.logs;
  const output = document.getElementById("logs-output");
  const container = document.getElementById("logs-container").value;
  output.textContent = "loading…";
  output.dataset.loaded = "false";
  try {
    const query = container ? `?container=${encodeURIComponent(container)}` : "";
    const data = await call("GET", `/api/pods/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/logs${query}`);
    output.textContent = data.lines.length ? data.lines.join("\n") : "(no output yet)";
  } catch (err) {
    output.textContent = `error: ${err.message}`;
  }
  output.dataset.loaded = "true";
}

// -------------------------------------------------------------------------------------- views

function showView() {
  const view = (location.hash || "#nodes").slice(1);
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const on = tab.dataset.view === view;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
  }
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${view}`;
}

function start() {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.addEventListener("click", () => { location.hash = tab.dataset.view; });
  }
  window.addEventListener("hashchange", showView);
  document.getElementById("namespace").addEventListener("change", (e) => {
    state.namespace = e.target.value;
    const url = new URL(location.href);
    url.searchParams.set("namespace", state.namespace);
    history.replaceState(null, "", url);
    connect();
  });
  document.getElementById("logs-refresh").addEventListener("click", loadLogs);
  document.getElementById("logs-container").addEventListener("change", loadLogs);
  document.getElementById("logs-close").addEventListener("click", () => {
    state.logs = null;
    document.getElementById("logs").hidden = true;
  });
  setInterval(() => {
    for (const td of document.querySelectorAll("td.age[data-created]")) td.textContent = ageOf(td.dataset.created);
  }, 5000);
  showView();
  renderNamespaces();
  connect();
}

start();
