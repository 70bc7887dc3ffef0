// The consent page's signature pad: draw with a finger, a pen or the mouse; the drawing goes
// with the form as a PNG data URL (nothing is sent when nothing was drawn).
"use strict";
(() => {
  const pad = document.getElementById("signature-pad");
  const out = document.getElementById("signature-data");
  if (!pad || !out) return;
  const ctx = pad.getContext("2d");
  ctx.lineWidth = 3;
  ctx.lineCap = "round";
  ctx.strokeStyle = "#102a43";
  let drawing = false;
  let drawn = false;
  const at = (e) => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
  };
  pad.addEventListener("pointerdown", (e) => {
    drawing = true;
    pad.setPointerCapture(e.pointerId);
    ctx.beginPath();
    ctx.moveTo(...at(e));
  });
  pad.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    ctx.lineTo(...at(e));
    ctx.stroke();
    drawn = true;
  });
  const end = () => {
    drawing = false;
  };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  document.getElementById("signature-clear").addEventListener("click", () => {
    ctx.clearRect(0, 0, pad.width, pad.height);
    drawn = false;
  });
  document.getElementById("consent-form").addEventListener("submit", () => {
    out.value = drawn ? pad.toDataURL("image/png") : "";
  });
})();
