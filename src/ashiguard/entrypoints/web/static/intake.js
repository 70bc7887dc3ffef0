// Body diagram on the intake form: clicking a zone toggles its pain-site checkbox.
document.addEventListener("DOMContentLoaded", () => {
  const box = (z) => document.querySelector(`#pain-checks input[value="${z}"]`);
  document.querySelectorAll(".body-diagram rect.zone").forEach((r) => {
    r.addEventListener("click", () => {
      const cb = box(r.dataset.zone);
      if (!cb) return;
      cb.checked = !cb.checked;
      r.classList.toggle("on", cb.checked);
    });
  });
  document.querySelectorAll("#pain-checks input").forEach((cb) => {
    cb.addEventListener("change", () => {
      const r = document.querySelector(`.body-diagram rect[data-zone="${cb.value}"]`);
      if (r) r.classList.toggle("on", cb.checked);
    });
  });
});
