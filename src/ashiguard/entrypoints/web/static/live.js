// The live page at the table (docs/webapp.md, "The live page at the table").
//
// Draws the pressure on the body outline with a fixed colour scale (the stops of
// adapters/colour_scale.py, read from #live[data-colours]), the load and each foot, the alarm
// groups of the session (one row per condition and zone, with its state), the alarm banner,
// the alarm sound (Web Audio, generated tones in the manner of IEC 60601-1-8), planned
// delivery, markers, the timeline and the event log. Everything comes from the WebSocket
// /sessions/{id}/ws (init, frame, alarm, status, marker, ended); the page never shows a
// frozen "all clear": a lost connection or no frame for 0.5 s greys the view and is a
// technical alarm, and the page reconnects by itself.
"use strict";
(() => {
  const root = document.getElementById("live");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const sid = root.dataset.session, csrf = root.dataset.csrf;
  const canvas = $("body"), ctx = canvas.getContext("2d");
  const PRI = { high: 0, medium: 1, low: 2 };
  const PRI_WORD = { high: "High", medium: "Medium", low: "Low" };
  const STATE_RANK = { active: 0, latched: 1, acknowledged: 2, cleared: 3 };
  const STALE_MS = 500;
  const PAUSE_MS = 120000;

  let STOPS = [[0, 0, 4], [120, 28, 109], [237, 105, 37], [252, 255, 164]];
  try { const s = JSON.parse(root.dataset.colours || "[]"); if (s.length >= 2) STOPS = s; } catch (e) { /* keep the fallback */ }

  // Zones and alarm kinds in the clinic's words. The server sends its words in init
  // (zone_words); this map is only the fallback before init arrives.
  const ZONE_FALLBACK = {
    spine_cervical: "neck spine", spine_thoracic: "upper-back spine", spine_lumbar: "lower-back spine",
    sacrum: "sacrum (tailbone plate)", neck: "neck",
    erector_thoracic_left: "left upper-back muscles", erector_thoracic_right: "right upper-back muscles",
    erector_lumbar_left: "left lower-back muscles", erector_lumbar_right: "right lower-back muscles",
    kidney_left: "left kidney area", kidney_right: "right kidney area",
    scapular_left: "left shoulder blade", scapular_right: "right shoulder blade",
    upper_trapezius_left: "left upper shoulder", upper_trapezius_right: "right upper shoulder",
    gluteal_left: "left buttock", gluteal_right: "right buttock",
    hamstring_left: "back of the left thigh", hamstring_right: "back of the right thigh",
    popliteal_left: "back of the left knee", popliteal_right: "back of the right knee",
    calf_left: "left calf", calf_right: "right calf",
  };
  let ZONES = Object.assign({}, ZONE_FALLBACK);
  const zoneWords = (z) => (z ? ZONES[z] || z.replace(/_/g, " ") : null);
  const on = (z) => (z ? ` on the ${zoneWords(z)}` : "");
  const depthWhere = (d) => (d == null ? "depth" : d < 60 ? `spinal canal (${Math.round(d)} mm)` : `kidney depth (${Math.round(d)} mm)`);
  // technical alarms about the recording (domain/live_view.py RECORDING_FAULT_WORDS)
  const RECORDING_FAULT = {
    "recording:disk_full": "Recording stopped: the disk is full",
    "recording:failed": "Recording stopped: it could not be written",
    "tare:refused": "Not zeroed: the sheet was loaded while zeroing",
  };
  const KIND_PHRASE = {
    spine_pressure: (a) => `Pressure${on(a.zone) || " on the spine"}`,
    kidney_pressure: (a) => `Pressure${on(a.zone) || " on the kidney area"}`,
    zone_pressure: (a) => `Pressure over the limit${on(a.zone)}`,
    restricted_zone: (a) => `Contact${on(a.zone)}, which the screening said to avoid`,
    unsupported_weight: () => "Too much of the therapist's weight on the client",
    sudden_shift: () => "Sudden shift of weight onto the client",
    uneven_load: () => "Uneven load between left and right",
    sensor_fault: (a) => RECORDING_FAULT[a.rule] || "Sensor problem: readings not trusted",
    dwell_time: (a) => `Load held too long${on(a.zone)}`,
    zone_dose: (a) => `Pressure dose too high${on(a.zone)}`,
    depth_stress: (a) => `Deep pressure at the ${depthWhere(a.depth_mm)}${a.zone ? ` under the ${zoneWords(a.zone)}` : ""}`,
    comfort: (a) => `Client said too much${a.zone ? ` (${zoneWords(a.zone)})` : ""}`,
    connection_lost: () => "Connection to the session lost: the picture is not live",
    no_data: () => "No data from the sensor: the picture is not live",
  };
  const what = (a) => (KIND_PHRASE[a.kind] ? KIND_PHRASE[a.kind](a) : `${(a.kind || "alarm").replace(/_/g, " ")}${on(a.zone)}`);
  const STATE_WORDS = {
    active: "Active: not yet acknowledged",
    acknowledged: "Silenced: condition still present",
    latched: "Over, waiting for acknowledgement",
    cleared: "Cleared",
  };
  const DELIVERY_WORDS = { idle: "not loaded", under: "under target", on: "on target", over: "over target" };

  let init = null, view = null, lastFrame = null, active = [];
  let groups = [];          // the server's alarm groups (status.groups, merged with alarm notices)
  let local = [];           // this page's technical alarms: connection lost, no data
  let serverLog = [], localLog = [], markers = [];
  let lastFrameAt = 0, lostSince = null, staleSince = null, ended = false, retry = 0, socket = null;
  let startedWall = null, pausedUntil = 0, comfortUntil = 0, comfortText = "";
  let tare = null, zeroAsked = false; // the session's zeroing (status.tare)

  const live = (window.ashiguardLive = {
    frames: 0, alarms: 0, acknowledged: 0, lastAlarm: null, lastFrameT: null, peak: 0, lost: 0, reconnects: 0,
    sound: "off", alarmDrawn: null, drawn: [], markers: 0, statuses: 0, scaleKpa: null,
  });

  // ------------------------------------------------------------------ formatting
  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  function mmss(s) {
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const p = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${p(m)}:${p(r)}` : `${p(m)}:${p(r)}`;
  }
  function num(v, unit) {
    if (v == null) return "—";
    const u = unit === "kPa*s" ? "kPa·s" : unit || "";
    const d = unit === "s" ? 1 : Math.abs(v) >= 10 || ["kPa", "N", "N/s", "kPa*s"].includes(unit) ? 0 : 2;
    return `${(+v).toFixed(d)} ${u}`.trim();
  }
  function measure(a) {
    const seen = a.peak != null ? a.peak : a.value != null ? a.value : a.value_seen;
    if (seen == null && a.limit == null) return a.source ? `(${a.source})` : "";
    const lim = a.limit != null ? `limit ${num(a.limit, a.unit)}` : "";
    return [seen != null ? num(seen, a.unit) : "", lim ? `(${lim}${a.source ? `, ${a.source}` : ""})` : a.source ? `(${a.source})` : ""].filter(Boolean).join(" ");
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // ------------------------------------------------------------------ colour scale
  function colourAt(u) {
    const x = Math.min(Math.max(u, 0), 1) * (STOPS.length - 1), i = Math.min(Math.floor(x), STOPS.length - 2), f = x - i;
    return STOPS[i].map((a, k) => Math.round(a + (STOPS[i + 1][k] - a) * f));
  }
  const targets = () => ((init && init.targets) || []).filter((t) => t.high_kpa > 0);
  const scaleTop = () => (init && init.scale_kpa > 0 ? init.scale_kpa : 100);

  function drawColourbar() {
    const cb = $("colourbar"), c = cb.getContext("2d"), top = scaleTop();
    const x0 = 6, w = 18, y0 = 22, h = cb.height - 34;
    c.clearRect(0, 0, cb.width, cb.height);
    for (let y = 0; y < h; y++) {
      const [r, g, b] = colourAt(1 - y / (h - 1));
      c.fillStyle = `rgb(${r},${g},${b})`;
      c.fillRect(x0, y0 + y, w, 1);
    }
    c.strokeStyle = "#55606b"; c.lineWidth = 1; c.strokeRect(x0 + 0.5, y0 + 0.5, w - 1, h - 1);
    c.fillStyle = "#1d2733"; c.font = "bold 13px system-ui, sans-serif"; c.textAlign = "left";
    c.fillText("kPa", 2, 14);
    c.font = "12px system-ui, sans-serif";
    for (let k = 0; k <= 4; k++) {
      const y = y0 + h - 1 - (k / 4) * (h - 1);
      c.fillRect(x0 + w, Math.round(y), 5, 1);
      c.fillText(String(Math.round((top * k) / 4)), x0 + w + 8, Math.round(y) + 4);
    }
    $("scale").textContent = `Colour scale fixed at 0 to ${Math.round(top)} kPa (dark: light pressure, bright yellow: at or above ${Math.round(top)} kPa; grey: sensor cell not reporting).`;
  }

  // ------------------------------------------------------------------ body drawing
  function fitView(m) {
    // Body-frame mm -> canvas px; the prone client seen from above, head up: the client's
    // left (+x) is on the viewer's left (as adapters/drawing.py draws it).
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
    return { s, tx: (x) => ox + (maxx - x) * s, ty: (y) => oy + (y - miny) * s };
  }
  function path(poly, v) {
    ctx.beginPath();
    poly.forEach(([x, y], i) => (i ? ctx.lineTo(v.tx(x), v.ty(y)) : ctx.moveTo(v.tx(x), v.ty(y))));
    ctx.closePath();
  }
  const ALARM_STROKE = { high: "#d1121b", medium: "#f08a00", low: "#c9a000" };
  const DELIVERY_STROKE = { idle: "rgba(30,125,79,0.55)", under: "rgba(41,89,138,0.85)", on: "rgba(30,125,79,0.95)", over: "rgba(214,90,0,0.95)" };
  let drawQueued = false;
  function queueDraw() { if (!drawQueued) { drawQueued = true; requestAnimationFrame(() => { drawQueued = false; draw(); }); } }

  function draw() {
    if (!init) return;
    const v = view;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const zones = init.zones || {};
    if (init.outline) {
      const top = Math.min(...init.outline.map((q) => q[1]));
      ctx.fillStyle = "#efe4da"; ctx.strokeStyle = "#7d6b5d"; ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.ellipse(v.tx(0), v.ty(top - 90), 55 * v.s, 75 * v.s, 0, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
      path(init.outline, v); ctx.fill();
      for (const [zone, polys] of Object.entries(zones)) {
        const avoid = (init.avoid_zones || []).includes(zone);
        const danger = /^(spine_|kidney_|popliteal_)|^(sacrum|neck)$/.test(zone);
        for (const poly of polys) {
          path(poly, v);
          ctx.fillStyle = avoid ? "rgba(179,38,30,0.25)" : danger ? "rgba(240,160,32,0.16)" : "rgba(31,95,139,0.06)";
          ctx.fill(); ctx.strokeStyle = "rgba(255,255,255,0.9)"; ctx.lineWidth = 1; ctx.stroke();
        }
      }
      path(init.outline, v); ctx.strokeStyle = "#7d6b5d"; ctx.lineWidth = 1.5; ctx.stroke();
    }
    // planned targets: a faint dashed outline, coloured by delivery now
    const delivery = {};
    for (const d of (lastFrame && lastFrame.delivery) || []) delivery[d.zone] = d.state;
    ctx.setLineDash([6, 4]);
    for (const tg of targets()) {
      for (const poly of zones[tg.zone] || []) {
        path(poly, v); ctx.strokeStyle = DELIVERY_STROKE[delivery[tg.zone] || "idle"]; ctx.lineWidth = 1.5; ctx.stroke();
      }
    }
    ctx.setLineDash([]);
    // zones with an alarm: a thick outline in the priority's colour (thinner once silenced)
    for (const g of groups) {
      if (g.state === "cleared" || !g.zone || !zones[g.zone]) continue;
      for (const poly of zones[g.zone]) {
        path(poly, v); ctx.strokeStyle = ALARM_STROKE[g.priority] || ALARM_STROKE.high;
        ctx.lineWidth = g.state === "acknowledged" ? 3 : 6; ctx.stroke();
      }
    }
    if (lastFrame && init.origin_mm) {
      const raw = atob(lastFrame.q), p = init.pitch_mm, [x0, y0] = init.origin_mm;
      const step = lastFrame.scale_kpa, top = scaleTop(), w = p * v.s + 0.6;
      for (let r = 0; r < init.rows; r++) {
        for (let c = 0; c < init.cols; c++) {
          const b = raw.charCodeAt(r * init.cols + c);
          if (b === 0 || (b !== 255 && b * step < 2)) continue; // below 2 kPa: no contact
          if (b === 255) ctx.fillStyle = "rgba(120,120,120,0.5)";
          else { const [R, G, B] = colourAt((b * step) / top); ctx.fillStyle = `rgba(${R},${G},${B},0.9)`; }
          ctx.fillRect(v.tx(x0 + (c + 0.5) * p), v.ty(y0 + (r - 0.5) * p), w, w);
        }
      }
    }
  }

  // ------------------------------------------------------------------ alarms
  const allGroups = () => groups.concat(local);
  const sorted = (gs) => gs.slice().sort((a, b) => STATE_RANK[a.state] - STATE_RANK[b.state] || PRI[a.priority] - PRI[b.priority] || (b.last_t || 0) - (a.last_t || 0));
  const pending = (g) => g.state === "active" || g.state === "latched";

  function renderAlarms() {
    const ul = $("alarms");
    ul.replaceChildren();
    const gs = sorted(allGroups());
    if (!gs.length) ul.appendChild(el("li", "muted", "none so far"));
    for (const g of gs) {
      const li = el("li", `alarm-row st-${g.state} p-${g.priority}${g.technical ? " technical" : ""}`);
      li.dataset.kind = g.kind; li.dataset.zone = g.zone || ""; li.dataset.state = g.state;
      if (g.alarm_id != null) li.dataset.alarm = g.alarm_id;
      const main = el("div", "alarm-main");
      const head = el("div", "alarm-head");
      head.appendChild(el("span", `pill pri pri-${g.priority}`, PRI_WORD[g.priority] || g.priority));
      head.appendChild(el("strong", "alarm-what", what(g)));
      if (g.count > 1) head.appendChild(el("span", "count", `${g.count}×`));
      main.appendChild(head);
      main.appendChild(el("div", "alarm-state", (g.technical ? "Technical alarm · " : "") + STATE_WORDS[g.state]));
      const when = g.local
        ? `since ${clock(g.first_wall)}${g.count > 1 ? `, last ${clock(g.last_wall)}` : ""}${g.state === "cleared" && g.end_wall ? `, back at ${clock(g.end_wall)}` : ""}`
        : g.count > 1 ? `first at ${mmss(g.first_t)}, last at ${mmss(g.last_t)}` : `at ${mmss(g.first_t)}`;
      const m = measure(g);
      main.appendChild(el("div", "alarm-detail", [m, when].filter(Boolean).join(" · ")));
      if (g.rule) main.title = `rule ${g.rule}`;
      li.appendChild(main);
      if (pending(g) && (g.alarm_id != null || g.local)) {
        const b = el("button", "ack", "Acknowledge");
        b.type = "button";
        b.dataset.alarm = g.alarm_id == null ? "" : g.alarm_id;
        b.addEventListener("click", () => acknowledge(g, b));
        li.appendChild(b);
      }
      ul.appendChild(li);
    }
    $("ack-all").disabled = !gs.some(pending);
  }

  function stale() {
    return !ended && (lostSince !== null || (lastFrameAt && Date.now() - lastFrameAt > STALE_MS));
  }

  function banner() {
    const el_ = $("banner"), txt = $("banner-text"), b = $("banner-ack");
    const isStale = stale();
    root.classList.toggle("stale", isStale);
    b.hidden = true;
    if (isStale) {
      el_.className = "banner lost";
      txt.textContent = lostSince !== null
        ? `Connection lost at ${clock(lostSince)}: reconnecting… Do not rely on this screen.`
        : `No data since ${clock(lastFrameAt)}: the picture is not live. Do not rely on this screen.`;
      const g = local.find((x) => pending(x));
      if (g) { b.hidden = false; b.onclick = () => acknowledge(g, b); }
      return;
    }
    const gs = sorted(allGroups().filter((g) => g.state !== "cleared"));
    const top = gs[0];
    if (!top) {
      if (Date.now() < comfortUntil) { el_.className = "banner low"; txt.textContent = comfortText; return; }
      const unknown = lastFrame && lastFrame.state === "unknown";
      if (tare && tare.state === "zeroing" && !unknown) { el_.className = "banner low"; txt.textContent = "Zeroing the sheet: keep all load off it"; return; }
      el_.className = unknown ? "banner medium" : "banner clear";
      txt.textContent = !init ? "Connecting…" : unknown ? "Monitor state unknown: sensor data not trusted" : "All clear";
      return;
    }
    const more = gs.length > 1 ? ` (+${gs.length - 1} more)` : "";
    const m = measure(top);
    if (pending(top)) {
      el_.className = `banner ${top.priority} sounding`;
      const lead = PRI_WORD[top.priority].toUpperCase() + (top.state === "latched" ? " (over, needs acknowledging)" : "");
      txt.textContent = `${lead}: ${what(top)}${m ? ` — ${m}` : ""}${more}`;
      if (top.alarm_id != null || top.local) { b.hidden = false; b.dataset.alarm = top.alarm_id == null ? "" : top.alarm_id; b.onclick = () => acknowledge(top, b); }
    } else {
      el_.className = `banner ${top.priority} silenced`;
      txt.textContent = `Silenced: ${what(top)} — condition still present${more}`;
    }
  }

  function refresh() {
    renderAlarms(); banner(); updateSound(); queueDraw(); renderTimeline();
  }

  function setGroupState(g, acked) {
    if (g.state === "active") g.state = "acknowledged";
    else if (g.state === "latched") g.state = "cleared";
    if (acked) live.acknowledged += 1;
  }

  async function acknowledge(g, b) {
    if (g.local) { setGroupState(g, false); addLog(`${clock(Date.now())} technical alarm acknowledged: ${what(g)}`); refresh(); return; }
    b.disabled = true;
    try {
      const r = await fetch(`/sessions/${sid}/ack`, {
        method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ alarm_id: g.alarm_id }), credentials: "same-origin",
      });
      const body = await r.json().catch(() => ({}));
      if (!r.ok) { b.disabled = false; addLog(`Acknowledge failed: ${body.detail || r.status}`); return; }
      for (const id of body.acknowledged || [g.alarm_id]) {
        const x = groups.find((y) => y.alarm_id === id);
        if (x) setGroupState(x, false);
      }
      refresh();
    } catch (e) { b.disabled = false; addLog("Acknowledge failed: no connection"); }
  }

  async function acknowledgeAll() {
    const b = $("ack-all");
    b.disabled = true;
    for (const g of local) if (pending(g)) setGroupState(g, false);
    try {
      const r = await fetch(`/sessions/${sid}/ack`, {
        method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ all: true }), credentials: "same-origin",
      });
      const body = await r.json().catch(() => ({}));
      if (!r.ok) addLog(`Acknowledge all failed: ${body.detail || r.status}`);
      else for (const id of body.acknowledged || []) { const x = groups.find((y) => y.alarm_id === id); if (x) setGroupState(x, false); }
    } catch (e) { addLog("Acknowledge all failed: no connection"); }
    refresh();
  }
  $("ack-all").addEventListener("click", acknowledgeAll);

  // An alarm notice: merged into the groups at once (the status that follows replaces them).
  function mergeNotice(e, act) {
    const byId = {};
    for (const a of act) byId[a.alarm_id] = a;
    if ((e.action === "raised" || e.action === "signal_lost") && e.kind) {
      let g = groups.find((x) => x.kind === e.kind && (x.zone || null) === (e.zone || null));
      if (!g) {
        g = { kind: e.kind, zone: e.zone || null, priority: e.priority || "low", count: 0, first_t: e.t || 0, last_t: e.t || 0, technical: e.kind === "sensor_fault" || e.kind === "connection_lost" };
        groups.push(g);
      }
      g.count += 1; g.last_t = e.t != null ? e.t : g.last_t; g.priority = e.priority || g.priority;
      g.alarm_id = e.alarm_id != null ? e.alarm_id : g.alarm_id;
      for (const k of ["value", "limit", "unit", "rule", "source", "depth_mm"]) g[k] = e[k];
      g.state = e.alarm_id != null ? "active" : "cleared";
    }
    for (const g of groups) {
      const a = g.alarm_id != null ? byId[g.alarm_id] : null;
      if (a) g.state = a.condition_present ? (a.acknowledged ? "acknowledged" : "active") : (a.acknowledged ? "cleared" : "latched");
      else if (g.state !== "cleared" && !(e.action === "raised" && g.alarm_id == null)) g.state = "cleared";
    }
  }

  function onAlarm(m) {
    active = m.active || [];
    const e = m.event || {};
    live.alarms += 1; live.lastAlarm = e;
    if (e.action === "acknowledged") live.acknowledged += 1;
    if (e.action === "raised" && e.kind === "comfort") comfortNotice(e.zone);
    mergeNotice(e, active);
    renderAlarms(); banner();
    if (e.action === "raised") {
      const t = performance.timeOrigin + performance.now();
      live.alarmDrawn = t;
      live.drawn.push({ alarm_id: e.alarm_id, frame_wall: m.frame_wall, drawn: t / 1000 });
      if (live.drawn.length > 2000) live.drawn.shift();
    }
    updateSound(); queueDraw();
  }

  function onStatus(m) {
    live.statuses += 1;
    active = m.active || [];
    if (m.groups) groups = m.groups.map((g) => Object.assign({}, g));
    if (m.log) serverLog = m.log;
    if (m.markers) { markers = m.markers; live.markers = markers.length; }
    if ("tare" in m) renderTare(m.tare);
    renderLog(); refresh();
  }

  // ------------------------------------------------------------------ zeroing
  function offsetWords(z) {
    const unit = z.units === "kPa" ? "kPa" : "counts";
    return `${z.frames} frames, largest offset ${(+z.offset_max).toFixed(1)} ${unit}`;
  }
  function renderTare(t) {
    tare = t; live.tare = t;
    const box = $("tare"), txt = $("tare-text"), note = $("tare-note"), btn = $("zero-now");
    const state = t ? t.state : "not_zeroed";
    const z = t && t.zeroed, r = t && t.refused;
    box.className = `tare ${state === "zeroing" ? "zeroing" : r ? "refused" : state === "zeroed" ? "zeroed" : ""}`;
    if (state === "zeroing") {
      txt.textContent = `Zeroing the sheet… keep all load off it${t.until_t != null ? ` (until ${mmss(t.until_t)})` : ""}`;
    } else if (r) {
      txt.textContent = `Zero now refused at ${mmss(r.t_request)}: ${r.reason}.`;
    } else if (z) {
      txt.textContent = `Sheet zeroed at ${mmss(z.window_s ? z.window_s[1] : z.t_request)} (${offsetWords(z)})`;
    } else {
      txt.textContent = "Sheet not zeroed: readings include any offset the sheet has";
    }
    const notes = [];
    if (r && z) notes.push(`Still using the zeroing of ${mmss(z.window_s ? z.window_s[1] : z.t_request)} (${offsetWords(z)}).`);
    else if (r) notes.push("The sheet is not zeroed.");
    if (t && t.calibration) {
      const c = t.calibration, k = c.kpa_per_count;
      notes.push(`Calibrated from counts: ${typeof k === "number" ? `${k} kPa per count` : "a factor per sensel"}${c.source ? ` (${c.source})` : ""}.`);
    }
    if (!notes.length) notes.push("Before Zero now, take every load off the sheet (for a mat under the client: the client off the table). The sheet is measured for a few seconds; a loaded sheet is never zeroed.");
    note.textContent = notes.join(" ");
    btn.disabled = ended || state === "zeroing" || zeroAsked;
    banner();
  }
  async function zeroNow() {
    const btn = $("zero-now");
    zeroAsked = true; btn.disabled = true;
    $("tare-text").textContent = "Asking the session to zero the sheet…";
    try {
      const r = await fetch(`/sessions/${sid}/tare`, {
        method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: "{}", credentials: "same-origin",
      });
      if (!r.ok) { const body = await r.json().catch(() => ({})); $("tare-text").textContent = `Zero now not sent: ${body.detail || r.status}`; }
      else addLog(`${clock(Date.now())} zero now asked`);
    } catch (e) { $("tare-text").textContent = "Zero now not sent: no connection"; }
    zeroAsked = false;
    if (!tare || tare.state !== "zeroing") btn.disabled = ended;
  }
  $("zero-now").addEventListener("click", zeroNow);

  function comfortNotice(zone) {
    comfortUntil = Date.now() + 10000;
    comfortText = `Client said too much${zone ? ` (${zoneWords(zone)})` : ""}`;
    chime("low");
  }

  // ------------------------------------------------------------------ sound
  // Patterns in the manner of IEC 60601-1-8: high = 5 fast pulses (3 + 2) every 2.5 s,
  // medium = 3 slower pulses every 7 s, low = 2 pulses every 16 s. Generated tones with
  // harmonics (no files). Played while an unacknowledged (active or latched) alarm exists.
  const PATTERNS = {
    high: { f: 880, gain: 0.32, dur: 0.12, at: [0, 0.2, 0.4, 0.8, 1.0], every: 2.5 },
    medium: { f: 660, gain: 0.26, dur: 0.2, at: [0, 0.32, 0.64], every: 7 },
    low: { f: 440, gain: 0.2, dur: 0.25, at: [0, 0.4], every: 16 },
  };
  const audio = { ctx: null, wave: null, timer: null, pattern: null, nodes: new Set() };
  try {
    const AC = window.AudioContext || window.webkitAudioContext;
    audio.ctx = new AC();
    audio.ctx.onstatechange = () => updateSound();
    const n = 6, real = new Float32Array(n), imag = new Float32Array(n);
    for (let k = 1; k < n; k++) imag[k] = 1 / k;
    audio.wave = audio.ctx.createPeriodicWave(real, imag);
  } catch (e) { audio.ctx = null; }
  const running = () => !!audio.ctx && audio.ctx.state === "running";

  function burst(name) {
    if (!running()) return;
    const p = PATTERNS[name], t0 = audio.ctx.currentTime + 0.02;
    for (const at of p.at) {
      const osc = audio.ctx.createOscillator(), g = audio.ctx.createGain();
      osc.setPeriodicWave(audio.wave); osc.frequency.value = p.f;
      const s = t0 + at;
      g.gain.setValueAtTime(0, s); g.gain.linearRampToValueAtTime(p.gain, s + 0.015);
      g.gain.setValueAtTime(p.gain, s + p.dur - 0.02); g.gain.linearRampToValueAtTime(0, s + p.dur);
      osc.connect(g); g.connect(audio.ctx.destination);
      osc.start(s); osc.stop(s + p.dur + 0.01);
      audio.nodes.add(osc);
      osc.onended = () => audio.nodes.delete(osc);
    }
  }
  function silence() {
    clearInterval(audio.timer); audio.timer = null;
    for (const o of audio.nodes) { try { o.stop(); } catch (e) { /* already stopped */ } }
    audio.nodes.clear();
  }
  function play(name) {
    if (name === audio.pattern) return;
    silence(); audio.pattern = name;
    if (!name) return;
    burst(name);
    audio.timer = setInterval(() => burst(name), PATTERNS[name].every * 1000);
  }
  function chime(name) { if (running() && Date.now() >= pausedUntil && !audio.pattern) burst(name); }

  function wanted() {
    let best = null;
    for (const g of allGroups()) if (pending(g) && (best === null || PRI[g.priority] < PRI[best])) best = g.priority;
    return best;
  }

  function updateSound() {
    const want = wanted(), paused = Date.now() < pausedUntil;
    if (!paused && pausedUntil) { pausedUntil = 0; addLog(`${clock(Date.now())} alarm audio on again`); }
    const state = !running() ? "blocked" : paused ? "paused" : want || "off";
    play(state === want ? want : null);
    live.sound = state;
    $("sound-blocked").hidden = state !== "blocked";
    root.classList.toggle("sound-off", state === "blocked");
    const s = $("sound-state");
    s.className = `sound-state s-${state}`;
    s.textContent = {
      blocked: "Alarm sound: OFF",
      paused: `Audio paused: ${mmss((pausedUntil - Date.now()) / 1000 + 0.999)} left. Alarms still show.`,
      off: "Alarm sound: on (quiet: nothing to acknowledge)",
      high: "Alarm sound: HIGH priority sounding",
      medium: "Alarm sound: medium priority sounding",
      low: "Alarm sound: low priority sounding",
    }[state];
    $("pause").textContent = paused ? "Resume audio" : "Pause audio 2 min";
    $("pause").classList.toggle("paused", paused);
  }

  function unlock() {
    if (audio.ctx && audio.ctx.state !== "running") audio.ctx.resume().then(updateSound, () => {});
  }
  for (const ev of ["pointerdown", "keydown", "touchstart"]) document.addEventListener(ev, unlock, { capture: true, passive: true });
  $("sound-on").addEventListener("click", async () => {
    if (!audio.ctx) { addLog("This browser cannot play alarm sound (no Web Audio)."); return; }
    try { await audio.ctx.resume(); } catch (e) { /* stays blocked, the notice stays */ }
    updateSound();
    if (running()) { addLog(`${clock(Date.now())} alarm sound turned on`); if (!audio.pattern) burst("low"); }
  });
  $("pause").addEventListener("click", () => {
    if (Date.now() < pausedUntil) { pausedUntil = 0; addLog(`${clock(Date.now())} alarm audio resumed`); }
    else { pausedUntil = Date.now() + PAUSE_MS; addLog(`${clock(Date.now())} alarm audio paused for 2 minutes`); }
    updateSound();
  });

  // ------------------------------------------------------------------ log, markers, timeline
  function addLog(text) { localLog.push({ wall: Date.now() / 1000, text, local: true }); renderLog(); }

  function renderLog() {
    const ul = $("log");
    const rows = serverLog.concat(localLog).sort((a, b) => b.wall - a.wall).slice(0, 300);
    ul.replaceChildren();
    for (const e of rows) {
      const li = el("li", `log-${e.kind || "local"}${e.priority ? ` p-${e.priority}` : ""}`);
      li.appendChild(el("span", "log-time", e.local ? "" : `${clock(e.wall * 1000)}${e.t != null ? ` · ${mmss(e.t)}` : ""} `));
      li.appendChild(document.createTextNode(e.text));
      ul.appendChild(li);
    }
  }

  function renderTimeline() {
    const tl = $("timeline"), now = lastFrame ? lastFrame.t : 0;
    const ticks = [];
    for (const e of serverLog) if (e.t != null && e.priority && e.kind !== "comfort") ticks.push({ t: e.t, cls: `tl-alarm p-${e.priority}`, title: `${mmss(e.t)} ${e.text}` });
    for (const mk of markers) ticks.push({ t: mk.t, cls: mk.kind === "too_much" ? "tl-too_much" : "tl-mark", title: `${mmss(mk.t)} ${markerWords(mk)}` });
    const span = Math.max(now, 60, ...ticks.map((x) => x.t)) || 60;
    tl.replaceChildren(el("div", "timeline-track"));
    for (const x of ticks) {
      const d = el("span", `tl-tick ${x.cls}`);
      d.title = x.title; d.style.left = `${(100 * x.t) / span}%`;
      tl.appendChild(d);
    }
    const ends = el("div", "timeline-ends");
    ends.appendChild(el("span", "", "00:00")); ends.appendChild(el("span", "", mmss(span)));
    tl.appendChild(ends);
  }

  function markerWords(mk) {
    if (mk.kind === "too_much") return `Client said too much${mk.zone ? ` (${zoneWords(mk.zone)})` : ""}`;
    if (mk.kind === "technique_change") return `Technique change (${mk.who})`;
    return `Mark: ${mk.text} (${mk.who})`;
  }

  function onMarker(m) {
    const mk = m.marker;
    if (!mk) return;
    markers = markers.concat([mk]); live.markers = markers.length;
    if (mk.kind === "too_much") comfortNotice(mk.zone);
    $("mark-status").textContent = `${clock(mk.wall * 1000)}: ${markerWords(mk)}`;
    renderTimeline(); banner();
  }

  async function mark(kind, text) {
    $("mark-status").textContent = "Saving…";
    try {
      const r = await fetch(`/sessions/${sid}/markers`, {
        method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ kind, text }), credentials: "same-origin",
      });
      if (!r.ok) { const body = await r.json().catch(() => ({})); $("mark-status").textContent = `Not saved: ${body.detail || r.status}`; return false; }
      $("mark-status").textContent = kind === "label" ? `Marked: ${text}` : "Technique change marked";
      return true;
    } catch (e) { $("mark-status").textContent = "Not saved: no connection"; return false; }
  }
  $("mark-technique").addEventListener("click", () => mark("technique_change", ""));
  $("mark-label").addEventListener("click", () => { const f = $("label-form"); f.hidden = !f.hidden; if (!f.hidden) $("label-text").focus(); });
  $("label-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("label-text").value.trim();
    if (!text) { $("mark-status").textContent = "Type what happened first."; return; }
    if (await mark("label", text)) { $("label-text").value = ""; $("label-form").hidden = true; }
  });

  // ------------------------------------------------------------------ frames
  function onInit(m) {
    init = m; view = fitView(m);
    if (m.zone_words && Object.keys(m.zone_words).length) ZONES = Object.assign({}, ZONE_FALLBACK, m.zone_words);
    live.scaleKpa = scaleTop();
    startedWall = m.started_wall > 0 ? m.started_wall : startedWall || Date.now() / 1000;
    $("rec").hidden = !m.recording;
    $("avoid").textContent = (m.avoid_zones || []).map(zoneWords).join(", ") || "none";
    renderDelivery([]);
    drawColourbar(); queueDraw(); refresh();
  }

  function renderContacts(cs) {
    const ul = $("contacts");
    ul.replaceChildren();
    if (!cs || !cs.length) { ul.appendChild(el("li", "muted", "no foot on the sheet")); return; }
    const order = { left: 0, right: 1 };
    for (const c of cs.slice().sort((a, b) => (order[a.side] ?? 2) - (order[b.side] ?? 2))) {
      const li = el("li", "contact");
      li.appendChild(el("span", "contact-side", c.side ? `Foot on client's ${c.side}` : "Foot"));
      li.appendChild(el("span", "contact-val", `${Math.round(c.load_n)} N · ${c.area_cm2.toFixed(0)} cm²`));
      ul.appendChild(li);
    }
  }

  function renderDelivery(ds) {
    // zones being worked now as chips (over, on, under target); the idle ones in one line
    const ul = $("delivery"), idle = $("delivery-idle");
    const byZone = {};
    for (const d of ds || []) byZone[d.zone] = d;
    const tg = targets();
    ul.replaceChildren(); idle.textContent = "";
    if (!tg.length && !(ds || []).length) { ul.appendChild(el("li", "muted", "no target in the session plan")); return; }
    const rank = { over: 0, on: 1, under: 2, idle: 3 };
    const zones = (tg.length ? tg.map((t) => t.zone) : Object.keys(byZone))
      .map((z) => ({ z, d: byZone[z], t: tg.find((x) => x.zone === z) || byZone[z] }))
      .sort((a, b) => rank[a.d ? a.d.state : "idle"] - rank[b.d ? b.d.state : "idle"]);
    const idleZones = [];
    for (const { z, d, t } of zones) {
      const state = d ? d.state : "idle";
      if (state === "idle") { idleZones.push(zoneWords(z)); continue; }
      const li = el("li", `chip dl-${state}`);
      li.dataset.zone = z;
      li.appendChild(el("span", "chip-zone", zoneWords(z)));
      li.appendChild(el("span", "chip-state", DELIVERY_WORDS[state]));
      li.appendChild(el("span", "chip-val", `${Math.round(d.mean_kpa)} kPa (target ${Math.round(t.low_kpa)}–${Math.round(t.high_kpa)})`));
      ul.appendChild(li);
    }
    if (!ul.children.length) ul.appendChild(el("li", "muted", "no planned zone loaded now"));
    if (idleZones.length) idle.textContent = `Not loaded now: ${idleZones.join(", ")}.`;
  }

  let lastDeliveryKey = "";
  function onFrame(m) {
    lastFrame = m; lastFrameAt = Date.now();
    live.frames += 1; live.lastFrameT = m.t; live.peak = m.peak_kpa;
    if (staleSince !== null) endLocal("no_data");
    $("load").textContent = m.load_n == null ? "— N" : `${Math.round(m.load_n)} N`;
    const share = m.share == null ? null : m.share, allowed = m.allowed_share;
    $("share-bar").style.width = share == null ? "0" : `${Math.min(share * 100, 100)}%`;
    $("share-meter").classList.toggle("over", allowed != null && share != null && share > allowed);
    $("share-text").textContent = share == null ? "share of the therapist's weight: —"
      : `${(share * 100).toFixed(0)} % of the therapist's weight` + (allowed != null ? ` (allowed ${(allowed * 100).toFixed(0)} %)` : "");
    $("state").textContent = `Monitor: ${m.state === "unknown" ? "sensor data not trusted" : m.state} · stream time ${mmss(m.t)} · frames lost by the sensor: ${m.frames_dropped}`;
    renderContacts(m.contacts);
    const dk = JSON.stringify((m.delivery || []).map((d) => [d.zone, d.state, Math.round(d.mean_kpa)]));
    if (dk !== lastDeliveryKey) { lastDeliveryKey = dk; renderDelivery(m.delivery); }
    const tb = $("hottest");
    tb.replaceChildren();
    for (const z of m.hottest || []) {
      const tr = el("tr", z.kpa > z.limit_kpa ? "over" : "");
      for (const v of [zoneWords(z.zone), `${z.kpa.toFixed(0)} kPa`, `${z.limit_kpa.toFixed(0)} kPa`]) tr.appendChild(el("td", "", v));
      tb.appendChild(tr);
    }
    queueDraw();
    banner();
  }

  // ------------------------------------------------------------------ freshness, connection
  function startLocal(kind, since) {
    let g = local.find((x) => x.kind === kind);
    if (!g) { g = { kind, zone: null, priority: "medium", count: 0, technical: true, local: true, first_wall: since }; local.push(g); }
    if (g.state !== "active" && g.state !== "acknowledged") { g.count += 1; g.last_wall = since; g.state = "active"; g.end_wall = null; }
    refresh();
  }
  function endLocal(kind) {
    const g = local.find((x) => x.kind === kind && x.state !== "cleared");
    if (kind === "no_data") staleSince = null;
    if (g) { g.state = "cleared"; g.end_wall = Date.now(); addLog(`${clock(Date.now())} ${kind === "no_data" ? "data flowing again" : "connection back"}`); refresh(); }
  }

  function tick() {
    if (startedWall && !ended) $("timer").textContent = mmss(Date.now() / 1000 - startedWall);
    if (!ended && lastFrameAt && lostSince === null && Date.now() - lastFrameAt > STALE_MS && staleSince === null) {
      staleSince = lastFrameAt;
      addLog(`${clock(Date.now())} no data since ${clock(lastFrameAt)}: technical alarm`);
      startLocal("no_data", lastFrameAt);
    }
    if (Date.now() >= comfortUntil && comfortUntil) { comfortUntil = 0; }
    if (lastFrameAt || lostSince !== null) banner();
    if (pausedUntil) updateSound();
  }
  setInterval(tick, 200);

  function lost(why) {
    if (ended) return;
    if (lostSince === null) {
      lostSince = Date.now(); live.lost += 1;
      addLog(`${clock(lostSince)} connection lost (${why}): technical alarm; reconnecting`);
      startLocal("connection_lost", lostSince);
    }
    banner();
    const wait = Math.min(500 * 2 ** retry, 5000); retry += 1;
    setTimeout(connect, wait);
  }

  function handle(m) {
    if (m.type === "init") onInit(m);
    else if (m.type === "frame") onFrame(m);
    else if (m.type === "alarm") onAlarm(m);
    else if (m.type === "status") onStatus(m);
    else if (m.type === "marker") onMarker(m);
    else if (m.type === "ended") {
      ended = true; root.classList.remove("stale"); silence(); audio.pattern = null; $("zero-now").disabled = true;
      $("rec").hidden = true;
      addLog(m.error ? `Session ended: ${m.error}` : "Session ended");
      setTimeout(() => location.reload(), m.error ? 2500 : 300);
    }
  }
  live.feed = handle; // tests feed messages through the same handler as the WebSocket

  function connect() {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/sessions/${sid}/ws`);
    socket = ws;
    ws.onopen = () => {
      if (lostSince !== null) { addLog(`${clock(Date.now())} reconnected`); live.reconnects += 1; endLocal("connection_lost"); }
      lostSince = null; retry = 0; banner();
    };
    ws.onmessage = (ev) => handle(JSON.parse(ev.data));
    ws.onclose = (ev) => {
      if (ev.code >= 4400) { addLog(`Connection refused: ${ev.reason}`); return; }
      if (!ended) lost(ev.code === 1000 ? "closed" : `code ${ev.code}`);
    };
  }
  drawColourbar(); renderLog(); refresh();
  connect();
})();
