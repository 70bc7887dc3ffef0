// The session's note: the body chart of the areas treated (clicking a zone toggles its
// checkbox, and the other way round), as on the intake form's pain-site diagram.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".body-chart[data-checks]").forEach((chart) => {
    const list = document.getElementById(chart.dataset.checks);
    if (!list || list.tagName !== "DIV") return;
    const box = (z) => list.querySelector(`input[value="${z}"]`);
    chart.querySelectorAll("rect.zone").forEach((r) => {
      r.addEventListener("click", () => {
        const cb = box(r.dataset.zone);
        if (!cb) return;
        cb.checked = !cb.checked;
        r.classList.toggle("on", cb.checked);
      });
    });
    list.querySelectorAll("input").forEach((cb) => {
      cb.addEventListener("change", () => {
        const r = chart.querySelector(`rect[data-zone="${cb.value}"]`);
        if (r) r.classList.toggle("on", cb.checked);
      });
    });
  });
});
