/* The fleet page: subscribes to <prefix>/+/# over MQTT-over-WebSockets and shows every unit.
 * Query: ?ws=ws://host:port (default ws://<this host>:9001) &prefix=faxbridge &verdicts=10
 * State is kept per unit in plain objects (model) and drawn by render(); no framework.
 * Received pages (fax/page/<id>/<n>: a JSON head line, then T.4 MH) are decoded by mh.js
 * into canvas thumbnails; the pages of the newest `verdicts` faxes per unit are kept. */
"use strict";

const q = new URLSearchParams(location.search);
const WS = q.get("ws") || ("ws://" + (location.hostname || "127.0.0.1") + ":9001");
const PREFIX = q.get("prefix") || "faxbridge";
const KEEP_VERDICTS = parseInt(q.get("verdicts") || "10", 10);
const units = new Map();          // unit id -> model

function unit(id) {
  let u = units.get(id);
  if (!u) {
    u = { id, online: "unknown", telemetry: null, jobs: new Map(), verdicts: [], received: [],
          errors: [], lastSeq: 0, pages: new Map(), thumbs: new Map() };
    units.set(id, u);
  }
  return u;
}

/* A received page: its head (JSON line) and T.4 bytes, kept until its fax is shown. */
function applyPage(u, fid, n, payload) {
  const i = payload.indexOf(10);
  if (i < 0) return false;
  let head;
  try { head = JSON.parse(new TextDecoder().decode(payload.subarray(0, i))); } catch (e) { return false; }
  if (typeof head.seq === "number") u.lastSeq = Math.max(u.lastSeq, head.seq);
  if (!u.pages.has(fid)) u.pages.set(fid, new Map());
  u.pages.get(fid).set(n, { head, data: new Uint8Array(payload.subarray(i + 1)) });
  while (u.pages.size > KEEP_VERDICTS) {           // bounded: the oldest fax's pages go
    const old = u.pages.keys().next().value;
    u.pages.delete(old);
    for (const k of [...u.thumbs.keys()]) if (k.startsWith(old + "/")) u.thumbs.delete(k);
  }
  return true;
}

/* One message into the model (payload: bytes). Returns false for topics the page does not show. */
function apply(topic, payload) {
  const parts = topic.split("/");
  const pre = PREFIX.split("/").length;
  if (parts.length < pre + 2) return false;
  const u = unit(parts[pre]);
  const sfx = parts.slice(pre + 1).join("/");
  if (parts.length === pre + 5 && parts[pre + 1] === "fax" && parts[pre + 2] === "page")
    return applyPage(u, parts[pre + 3], parseInt(parts[pre + 4], 10), payload);
  const text = new TextDecoder().decode(payload);
  if (sfx === "availability") { u.online = text || "unknown"; return true; }
  let m;
  try { m = JSON.parse(text); } catch (e) { return false; }
  if (typeof m !== "object" || m === null) return false;
  if (typeof m.seq === "number" && sfx !== "telemetry") u.lastSeq = Math.max(u.lastSeq, m.seq);
  if (sfx === "telemetry") u.telemetry = m;
  else if (sfx === "fax/status") {
    const old = u.jobs.get(m.job);
    if (!old || (m.seq || 0) >= (old.seq || 0)) u.jobs.set(m.job, m);
  } else if (sfx === "cafis/verdict") {
    u.verdicts.unshift(m);
    u.verdicts.length = Math.min(u.verdicts.length, KEEP_VERDICTS);
  } else if (sfx === "fax/received") {
    if (!u.received.some(r => r.id === m.id)) u.received.unshift(m);
    u.received.length = Math.min(u.received.length, KEEP_VERDICTS);
  } else if (sfx === "cmd/error") {
    u.errors.unshift(m);
    u.errors.length = Math.min(u.errors.length, KEEP_VERDICTS);
  } else return false;
  return true;
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function table(head, rows) {
  const t = el("table", {}, el("tr", {}, ...head.map(h => el("th", {}, h))));
  for (const r of rows) t.append(r);
  return t;
}

/* The thumbnails of a received fax's pages that have arrived (decoded once, then reused). */
function thumbs(u, r) {
  const got = u.pages.get(r.id);
  const out = [];
  (r.page_bytes || []).forEach((size, i) => {
    const key = r.id + "/" + (i + 1);
    let c = u.thumbs.get(key);
    const p = got && got.get(i + 1);
    if (!c && p) {
      c = mhCanvas(p.data, (r.page_width || [])[i] || p.head.width || 1728);
      c.dataset.page = i + 1;
      c.title = r.id + " page " + (i + 1) + " (" + c.dataset.lines + " lines)";
      u.thumbs.set(key, c);
    }
    if (c) out.push(c);
  });
  return out;
}

function statusClass(j) {
  if (!j.final) return "progress";
  return j.code === 0 ? "final-ok" : "final-err";
}

function renderUnit(u) {
  const t = u.telemetry || {};
  const jobsObj = t.jobs && typeof t.jobs === "object" ? t.jobs : {};
  const tele = table(["uptime s", "heap free", "modem", "jobs", "outbox", "seq"], [el("tr", {},
    el("td", { "data-field": "uptime" }, t.uptime ?? "–"),
    el("td", { "data-field": "heap_free" }, t.heap_free ?? "–"),
    el("td", { "data-field": "modem" }, t.modem ?? "–"),
    el("td", { "data-field": "jobs" }, Object.entries(jobsObj).map(([k, v]) => k + " " + v).join(", ") || "–"),
    el("td", { "data-field": "outbox" }, t.outbox ? (t.outbox.depth ?? "?") : "–"),
    el("td", { "data-field": "seq" }, u.lastSeq))]);
  const jobs = [...u.jobs.values()].sort((a, b) => (b.seq || 0) - (a.seq || 0)).map(j =>
    el("tr", { "data-job": j.job, "data-code": j.code, class: statusClass(j) },
      el("td", {}, j.job), el("td", { "data-field": "code" }, j.code),
      el("td", { "data-field": "meaning" }, j.category || ""),
      el("td", { "data-field": "pages" }, (j.pages ?? 0) + (j.of ? "/" + j.of : "")),
      el("td", { "data-field": "attempt" }, j.attempt ?? 0)));
  const verdicts = u.verdicts.map(v =>
    el("tr", { "data-ref": v.ref, "data-verdict": v.verdict },
      el("td", {}, v.ref), el("td", {}, v.verdict), el("td", {}, v.code ?? ""), el("td", {}, v.rule ?? "")));
  const rx = u.received.map(r =>
    el("tr", { "data-fax": r.id },
      el("td", {}, r.id), el("td", { "data-field": "pages" }, r.pages), el("td", {}, r.remote ?? ""),
      el("td", {}, r.hangup && typeof r.hangup === "object" ? (r.hangup.code ?? "") : ""),
      el("td", { class: "thumbs" }, ...thumbs(u, r))));
  return el("section", { class: "unit", "data-unit": u.id },
    el("h2", {}, u.id + " ", el("span", { class: "badge", "data-online": u.online }, u.online)),
    tele,
    el("div", { class: "cols" },
      el("div", {}, el("h3", {}, "fax jobs"), table(["job", "code", "meaning", "pages", "attempt"], jobs)),
      el("div", {}, el("h3", {}, "latest verdicts"), table(["ref", "verdict", "code", "rule"], verdicts)),
      el("div", {}, el("h3", {}, "received faxes"), table(["id", "pages", "remote", "hang-up", "pages received"], rx))));
}

let pending = false;
function render() {
  pending = false;
  const main = document.getElementById("units");
  const ids = [...units.keys()].sort();
  main.replaceChildren(...(ids.length ? ids.map(id => renderUnit(units.get(id)))
                                      : [el("p", { id: "empty" }, "No unit has reported yet.")]));
}
function schedule() { if (!pending) { pending = true; requestAnimationFrame(render); } }

function start() {
  const filter = PREFIX + "/+/#";
  document.getElementById("broker").textContent = WS;
  document.getElementById("filter").textContent = filter;
  const conn = document.getElementById("conn");
  const client = mqtt.connect(WS, { clientId: "fleet-" + Math.random().toString(16).slice(2, 10),
                                    reconnectPeriod: 2000, protocolVersion: 4 });
  client.on("connect", () => {
    conn.dataset.state = "up"; conn.textContent = "connected";
    client.subscribe(filter, { qos: 0 });
  });
  client.on("close", () => { conn.dataset.state = "down"; conn.textContent = "disconnected"; });
  client.on("error", e => { conn.dataset.state = "down"; conn.textContent = "error: " + e.message; });
  client.on("message", (topic, payload) => {
    if (apply(topic, payload)) schedule();
  });
}

if (typeof document !== "undefined") start();
