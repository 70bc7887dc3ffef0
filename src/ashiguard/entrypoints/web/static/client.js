// The client's page on the tablet at the head of the table: one "Too much" button. A press
// sets a "too_much" marker for the client (POST /sessions/{id}/markers with "client": true)
// and says plainly that the therapist was told; nothing of the record is shown.
"use strict";
(() => {
  const root = document.getElementById("client");
  if (!root || root.dataset.live !== "yes") return;
  const sid = root.dataset.session, csrf = root.dataset.csrf;
  const button = document.getElementById("too-much"), heard = document.getElementById("client-heard");
  let clearTimer = null;
  window.ashiguardClient = { sent: 0, heard: 0, failed: 0 };

  function say(text, cls) {
    heard.textContent = text;
    heard.className = `client-heard ${cls}`;
    clearTimeout(clearTimer);
    clearTimer = setTimeout(() => { heard.textContent = ""; heard.className = "client-heard"; }, 8000);
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    window.ashiguardClient.sent += 1;
    say("Sending…", "sending");
    try {
      const r = await fetch(`/sessions/${sid}/markers`, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ kind: "too_much", client: true }),
      });
      if (r.ok) {
        window.ashiguardClient.heard += 1;
        say("Heard. Your therapist has been told: the pressure is too much.", "ok");
      } else if (r.status === 409) {
        window.ashiguardClient.failed += 1;
        say("The treatment has ended. Please tell your therapist directly.", "bad");
      } else {
        window.ashiguardClient.failed += 1;
        say("Not sent. Please tell your therapist directly.", "bad");
      }
    } catch (e) {
      window.ashiguardClient.failed += 1;
      say("Not sent (no connection). Please tell your therapist directly.", "bad");
    } finally {
      setTimeout(() => { button.disabled = false; }, 1500);
    }
  });
})();
