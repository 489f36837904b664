// Vouch's own small behaviours. No inline scripts anywhere (the CSP forbids them).
document.addEventListener("submit", (event) => {
  // Double-click safety for plain forms: disable the submit button once submitted.
  const form = event.target;
  if (form.dataset.once !== undefined) {
    form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
  }
});
document.addEventListener("click", (event) => {
  const trigger = event.target.closest("[data-confirm]");
  if (trigger && !window.confirm(trigger.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
