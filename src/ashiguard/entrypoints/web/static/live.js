// Live session view: draws the pressure heatmap on the body outline from WebSocket messages,
// shows the load and its share of the therapist's weight, the alarm banner and acknowledge.
"use strict";
(() => {
  const root = document.getElementById("live");
  if (!root) return;
  const sid = root.dataset.session, csrf = root.dataset.csrf;
  const canvas = document.getElementById("body"), ctx = canvas.getContext("2d");
  const $ = (id) => document.getElementById(id);
  const PRI = { high: 0, medium: 1, low: 2 };
  let init = null, view = null, lastFrame = null, active = [];
  // Never a frozen "all clear": a lost connection or no frame for STALE_MS greys the view
  // and says since when; the page reconnects by itself (init and the active alarms come back).
  const STALE_MS = 500;
  let lastFrameAt = 0, lostSince = null, ended = false, retry = 0;
  window.ashiguardLive = { frames: 0, alarms: 0, acknowledged: 0, lastAlarm: null, lastFrameT: null, peak: 0, lost: 0, reconnects: 0 };

  function fitView(m) {
    // Body-frame mm -> canvas px; x (client's left) to the viewer's right, y (feet) down.
    const pts = (m.outline || []).slice();
    if (m.origin_mm) {
      const [x0, y0] = m.origin_mm, p = m.pitch_mm;
      pts.push([x0 - p / 2, y0 - p / 2], [x0 + (m.cols - 0.5) * p, y0 + (m.rows - 0.5) * p]);
    } else {
      pts.push([0, 0], [m.cols * m.pitch_mm, m.rows * m.pitch_mm]);
    }
    const xs = pts.map((q) => q[0]), ys = pts.map((q) => q[1]);
    const minx = Math.min(...xs), maxx = Math.max(...xs), miny = Math.min(...ys) - 120, maxy = Math.max(...ys);
    const s = Math.min((canvas.width - 20) / (maxx - minx), (canvas.height - 20) / (maxy - miny));
    const ox = (canvas.width - s * (maxx - minx)) / 2, oy = (canvas.height - s * (maxy - miny)) / 2;
    // prone client seen from above, head up: the client's left (+x) is on the viewer's left
    return { s, tx: (x) => ox + (maxx - x) * s, ty: (y) => oy + (y - miny) * s };
  }

  function path(poly, v) {
    ctx.beginPath();
    poly.forEach(([x, y], i) => (i ? ctx.lineTo(v.tx(x), v.ty(y)) : ctx.moveTo(v.tx(x), v.ty(y))));
    ctx.closePath();
  }

  function colour(u) {
    // 0..1 -> dark blue, cyan, yellow, red (perceptually ordered, readable on the skin tone)
    const stops = [[30, 60, 160], [0, 180, 200], [250, 220, 50], [220, 30, 30]];
    const x = Math.min(Math.max(u, 0), 1) * (stops.length - 1), i = Math.min(Math.floor(x), stops.length - 2), f = x - i;
    const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
    return `rgba(${c[0]},${c[1]},${c[2]},0.88)`;
  }

  function draw() {
    if (!init) return;
    const v = view;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (init.outline) {
      const top = Math.min(...init.outline.map((q) => q[1]));
      ctx.fillStyle = "#efe4da"; ctx.strokeStyle = "#7d6b5d"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.ellipse(v.tx(0), v.ty(top - 90), 55 * v.s, 75 * v.s, 0, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      path(init.outline, v); ctx.fill();
      for (const [zone, polys] of Object.entries(init.zones)) {
        const avoid = init.avoid_zones.includes(zone);
        const danger = /^(spine_|kidney_|popliteal_)|^(sacrum|neck)$/.test(zone);
        for (const poly of polys) {
          path(poly, v);
          ctx.fillStyle = avoid ? "rgba(179,38,30,0.25)" : danger ? "rgba(240,160,32,0.16)" : "rgba(31,95,139,0.06)";
          ctx.fill(); ctx.strokeStyle = "rgba(255,255,255,0.9)"; ctx.lineWidth = 1; ctx.stroke();
        }
      }
      path(init.outline, v); ctx.strokeStyle = "#7d6b5d"; ctx.lineWidth = 1.5; ctx.stroke();
    }
    if (lastFrame && init.origin_mm) {
      const raw = atob(lastFrame.q), p = init.pitch_mm, [x0, y0] = init.origin_mm;
      const vmax = Math.max(lastFrame.peak_kpa, 80) / lastFrame.scale_kpa, w = p * v.s + 0.6;
      for (let r = 0; r < init.rows; r++) {
        for (let c = 0; c < init.cols; c++) {
          const b = raw.charCodeAt(r * init.cols + c);
          if (b === 255) { ctx.fillStyle = "rgba(120,120,120,0.5)"; }
          else if (b === 0) continue;
          else ctx.fillStyle = colour(b / vmax);
          ctx.fillRect(v.tx(x0 + (c + 0.5) * p), v.ty(y0 + (r - 0.5) * p), w, w);
        }
      }
    }
  }

  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function banner() {
    const el = $("banner"), txt = $("banner-text");
    el.querySelectorAll("button").forEach((b) => b.remove());
    const stale = !ended && (lostSince !== null || (lastFrameAt && Date.now() - lastFrameAt > STALE_MS));
    root.classList.toggle("stale", stale);
    if (stale) {
      el.className = "banner lost";
      txt.textContent = lostSince !== null
        ? `Connection lost at ${clock(lostSince)}: reconnecting… Do not rely on this screen.`
        : `No data since ${clock(lastFrameAt)}: the picture is not live. Do not rely on this screen.`;
      return;
    }
    if (!active.length) {
      el.className = "banner clear";
      txt.textContent = lastFrame && lastFrame.state === "unknown" ? "Monitor state unknown: sensor data not trusted" : "All clear";
      if (lastFrame && lastFrame.state === "unknown") el.className = "banner medium";
      return;
    }
    const top = active.slice().sort((a, b) => PRI[a.priority] - PRI[b.priority])[0];
    el.className = `banner ${top.priority}`;
    txt.textContent = `${top.priority.toUpperCase()}: ${describe(top)}` + (active.length > 1 ? ` (+${active.length - 1} more)` : "");
  }

  function num(v, unit) {
    return `${(+v).toFixed(unit === "kPa" || unit === "N" || unit === "N/s" ? 0 : 2)} ${unit || ""}`.trim();
  }

  function describe(a) {
    // Explainable: which rule fired, the value seen (peak so far), the limit and its source.
    const where = a.zone ? ` on ${a.zone.replace(/_/g, " ")}` : "";
    const seen = a.peak != null ? a.peak : a.value != null ? a.value : a.value_seen;
    const val = seen != null ? ` ${num(seen, a.unit)}` : "";
    const lim = a.limit != null ? ` (limit ${num(a.limit, a.unit)}${a.source ? ", " + a.source : ""})` : "";
    const latched = a.latched ? " — condition over, latched until acknowledged" : "";
    return `${a.kind.replace(/_/g, " ")}${where}:${val}${lim}${latched}`;
  }

  function alarms() {
    const ul = $("alarms");
    ul.innerHTML = "";
    if (!active.length) { ul.innerHTML = '<li class="muted">none</li>'; return; }
    for (const a of active.slice().sort((x, y) => PRI[x.priority] - PRI[y.priority])) {
      const li = document.createElement("li");
      const span = document.createElement("span");
      span.innerHTML = `<span class="pill ${a.priority === "high" ? "d-decline" : a.priority === "medium" ? "d-defer" : "d-modify"}"></span> `;
      span.firstChild.textContent = a.priority;
      span.appendChild(document.createTextNode(describe(a) + (a.rule ? ` · rule ${a.rule}` : "")));
      li.appendChild(span);
      const b = document.createElement("button");
      b.textContent = "Acknowledge"; b.className = "ack"; b.dataset.alarm = a.alarm_id;
      b.addEventListener("click", () => ack(a.alarm_id, b));
      li.appendChild(b);
      ul.appendChild(li);
    }
  }

  async function ack(id, b) {
    b.disabled = true;
    const r = await fetch(`/sessions/${sid}/ack`, {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ alarm_id: id }), credentials: "same-origin",
    });
    if (!r.ok) { b.disabled = false; log(`acknowledge failed: ${(await r.json()).detail}`); }
  }

  function log(text) {
    const li = document.createElement("li");
    li.textContent = text;
    $("log").prepend(li);
  }

  function onFrame(m) {
    lastFrame = m; lastFrameAt = Date.now();
    window.ashiguardLive.frames += 1; window.ashiguardLive.lastFrameT = m.t; window.ashiguardLive.peak = m.peak_kpa;
    $("load").textContent = m.load_n == null ? "— N" : `${Math.round(m.load_n)} N`;
    const share = m.share == null ? null : m.share, allowed = m.allowed_share;
    $("share-bar").style.width = share == null ? "0" : `${Math.min(share * 100, 100)}%`;
    $("share-meter").classList.toggle("over", allowed != null && share != null && share > allowed);
    $("share-text").textContent = share == null ? "share of the therapist's weight: —"
      : `${(share * 100).toFixed(0)} % of the therapist's weight` + (allowed != null ? ` (allowed ${(allowed * 100).toFixed(0)} %)` : "");
    $("state").textContent = `monitor state: ${m.state} · t = ${m.t.toFixed(1)} s · frames dropped by the source: ${m.frames_dropped}`;
    $("scale").textContent = `peak ${m.peak_kpa.toFixed(0)} kPa · colour scale 0 to ${Math.max(m.peak_kpa, 80).toFixed(0)} kPa (blue low, red high; grey: sensel not reporting)`;
    $("hottest").innerHTML = "";
    for (const z of m.hottest || []) {
      const tr = document.createElement("tr");
      for (const v of [z.zone.replace(/_/g, " "), `${z.kpa.toFixed(0)} kPa`, `${z.limit_kpa.toFixed(0)} kPa`]) {
        const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
      }
      $("hottest").appendChild(tr);
    }
    requestAnimationFrame(draw);
    banner();
  }

  function onAlarm(m) {
    active = m.active || [];
    const e = m.event;
    window.ashiguardLive.alarms += 1; window.ashiguardLive.lastAlarm = e;
    if (e.action === "raised") log(`t=${e.t.toFixed(1)} s RAISED ${e.priority}: ${describe(e)}`);
    else if (e.action === "cleared") log(`t=${e.t.toFixed(1)} s cleared: ${e.kind.replace(/_/g, " ")}`);
    else if (e.action === "acknowledged") {
      window.ashiguardLive.acknowledged += 1;
      log(`alarm ${e.alarm_id} acknowledged`);
    }
    else if (e.action === "signal_lost") log(`signal lost (${e.value} s without frames)`);
    alarms(); banner();
  }

  function lost(why) {
    if (ended) return;
    if (lostSince === null) {
      lostSince = Date.now(); window.ashiguardLive.lost += 1;
      log(`${clock(lostSince)} connection lost (${why}): technical alarm; reconnecting`);
    }
    banner();
    const wait = Math.min(500 * 2 ** retry, 5000); retry += 1;
    setTimeout(connect, wait);
  }

  setInterval(() => { if (lastFrameAt && !ended) banner(); }, 200);

  function connect() {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/sessions/${sid}/ws`);
    ws.onopen = () => {
      if (lostSince !== null) { log(`${clock(Date.now())} reconnected`); window.ashiguardLive.reconnects += 1; }
      lostSince = null; retry = 0; banner();
    };
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === "init") { init = m; view = fitView(m); draw(); $("banner-text").textContent = "All clear"; }
      else if (m.type === "frame") onFrame(m);
      else if (m.type === "alarm") onAlarm(m);
      else if (m.type === "status") { active = m.active || []; alarms(); banner(); }
      else if (m.type === "ended") {
        ended = true; root.classList.remove("stale");
        log(m.error ? `session ended: ${m.error}` : "session ended");
        setTimeout(() => location.reload(), m.error ? 2500 : 300);
      }
    };
    ws.onclose = (ev) => {
      if (ev.code >= 4400) { log(`connection refused: ${ev.reason}`); return; }
      if (!ended) lost(ev.code === 1000 ? "closed" : `code ${ev.code}`);
    };
  }
  connect();
})();
