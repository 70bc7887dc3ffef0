// The live view of a training attempt (docs/training.md, "Attempts run live").
//
// Asks /training/live/{id}/view.json a few times a second and shows the target band, the
// pressure now, time in band and time left, with the guidance in words, colour and a needle on
// the band (colour is never the only cue), and in sound (Web Audio, generated tones: low when
// too light, a soft click on entering the band, high and repeated when too heavy, a double
// alarm tone when a forbidden zone is loaded). A mute button; the choice is remembered.
// When the attempt ends, the score's criteria are shown (pass/fail each).
"use strict";
(() => {
  const root = document.getElementById("attempt");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const url = root.dataset.view;
  const low = Number(root.dataset.low), high = Number(root.dataset.high);
  const span = Math.max(high * 1.6, high + 10);  // the meter shows 0 .. span kPa
  const WORDS = { idle: "no contact", under: "too light", on: "on target", over: "too heavy" };
  const seen = [];
  let last = null, lastForbidden = "", overTimer = null, done = false, failures = 0;

  // ---- the band meter
  const zone = $("band-zone"), needle = $("band-needle");
  zone.style.left = `${(100 * low) / span}%`;
  zone.style.width = `${(100 * (high - low)) / span}%`;

  // ---- sound
  const AC = window.AudioContext || window.webkitAudioContext;
  let ac = null;
  let muted = localStorage.getItem("ashiguard-training-muted") === "1";
  const muteBtn = $("mute");
  function audio() {
    if (!AC) return null;
    if (!ac) ac = new AC();
    return ac;
  }
  function label() {
    const a = ac;
    if (!AC) { muteBtn.textContent = "No sound in this browser"; muteBtn.disabled = true; return; }
    if (muted) muteBtn.textContent = "Sound off (tap to turn on)";
    else if (!a || a.state !== "running") muteBtn.textContent = "Tap to turn the sound on";
    else muteBtn.textContent = "Sound on (tap to mute)";
    muteBtn.setAttribute("aria-pressed", muted ? "true" : "false");
    root.dataset.muted = muted ? "1" : "0";
  }
  muteBtn.addEventListener("click", () => {
    const a = audio();
    if (a && a.state !== "running") { muted = false; a.resume().then(label); }
    else muted = !muted;
    localStorage.setItem("ashiguard-training-muted", muted ? "1" : "0");
    label();
  });
  function tone(freq, ms, at = 0, gain = 0.15) {
    if (muted) return;
    const a = audio();
    if (!a || a.state !== "running") return;
    const t = a.currentTime + at / 1000;
    const osc = a.createOscillator(), g = a.createGain();
    osc.frequency.value = freq;
    osc.type = "sine";
    g.gain.setValueAtTime(0, t);
    g.gain.linearRampToValueAtTime(gain, t + 0.015);
    g.gain.linearRampToValueAtTime(0, t + ms / 1000);
    osc.connect(g).connect(a.destination);
    osc.start(t);
    osc.stop(t + ms / 1000 + 0.02);
  }
  const SOUNDS = {
    under: () => tone(330, 180),
    on: () => tone(880, 60, 0, 0.08),
    over: () => { tone(1250, 140); tone(1250, 140, 200); },
  };
  function overRepeat(on) {
    if (on && !overTimer) overTimer = setInterval(() => SOUNDS.over(), 900);
    if (!on && overTimer) { clearInterval(overTimer); overTimer = null; }
  }

  // ---- drawing
  function show(v) {
    const running = v.status === "running" || v.status === "starting";
    const state = running ? v.state : "idle";
    const guide = $("guide");
    guide.className = `guide guide-${state}`;
    let word = running ? (v.status === "starting" ? "waiting for the first frame" : WORDS[state]) : "finished";
    $("guide-word").textContent = word;
    root.dataset.state = running ? state : v.status;
    const value = v.value_kpa === null ? "no contact" : `${v.value_kpa.toFixed(1)} kPa`;
    $("guide-value").textContent = v.value_kpa === null ? "—" : value;
    $("value").textContent = value;
    $("in-band").textContent = `${v.in_band_s.toFixed(1)} s`;
    $("time-left").textContent = `${v.time_left_s.toFixed(1)} s`;
    const x = v.value_kpa === null ? 0 : Math.min(100, (100 * v.value_kpa) / span);
    needle.style.left = `${x}%`;
    needle.hidden = v.value_kpa === null;
    const forbidden = (v.forbidden_now || []).join(", ");
    const fb = $("forbidden");
    fb.hidden = !forbidden || !running;
    fb.textContent = forbidden ? `Off the target: ${forbidden} loaded. Move back!` : "";
    if (running && v.status === "running") {
      if (state !== last) {
        seen.push(state);
        root.dataset.seen = seen.join(" ");
        if (SOUNDS[state]) SOUNDS[state]();
        last = state;
      }
      overRepeat(state === "over");
      if (forbidden && forbidden !== lastForbidden) { tone(660, 200); tone(990, 200, 250); }
      lastForbidden = forbidden;
    }
  }

  function showChanges(v) {
    const log = $("guidance-log");
    const items = (v.changes || []).map((c) => `${c.t.toFixed(1)} s: ${WORDS[c.state] || c.state}`);
    if (log.childElementCount === items.length) return;
    log.replaceChildren(...items.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
  }

  function showResult(v) {
    overRepeat(false);
    const stop = $("stop-form");
    if (stop) stop.hidden = true;
    $("result").hidden = false;
    const title = $("result-title");
    if (v.status === "error") title.textContent = "The attempt could not be scored";
    else title.textContent = v.passed ? "Passed" : "Not passed";
    const err = $("result-error");
    err.hidden = !v.error;
    err.textContent = v.error || "";
    const body = $("criteria").tBodies[0];
    body.replaceChildren();
    for (const c of v.criteria) {
      const tr = body.insertRow();
      for (const text of [c.name, c.measured, c.asked]) tr.insertCell().textContent = text;
      const pill = document.createElement("span");
      pill.className = `pill ${c.ok ? "d-cleared" : "d-decline"}`;
      pill.textContent = c.ok ? "met" : "not met";
      tr.insertCell().appendChild(pill);
    }
    if (v.status === "ended") {
      if (v.passed) { tone(660, 160); tone(990, 220, 180); } else tone(260, 400);
    }
    $("guide-word").textContent = v.status === "error" ? "stopped" : (v.passed ? "finished: passed" : "finished: not passed");
    $("guide-value").textContent = "";
    $("value").textContent = "attempt over";
    needle.hidden = true;
    $("result").scrollIntoView({ block: "start" });
    root.dataset.state = v.status;
    done = true;
  }

  async function poll() {
    if (done) return;
    try {
      const r = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const v = await r.json();
      failures = 0;
      show(v);
      showChanges(v);
      if (v.status === "ended" || v.status === "error") { showResult(v); return; }
    } catch (e) {
      failures += 1;
      if (failures >= 3) {
        $("guide").className = "guide guide-idle";
        $("guide-word").textContent = "connection lost: retrying";
      }
    }
    setTimeout(poll, 200);
  }
  label();
  if (root.dataset.state !== "ended") poll();
})();
