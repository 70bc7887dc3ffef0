// Asks before an action that cannot be undone: a form, or the button that submits it, with
// data-confirm="question" submits only when the user answers OK.
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  const button = event.submitter;
  const question =
    (button && button.dataset && button.dataset.confirm) ||
    (form && form.dataset && form.dataset.confirm);
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
