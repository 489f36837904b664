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
// A time zone select left unchosen proposes the browser's own zone (saved with the form).
document.querySelectorAll("select[data-browser-zone]").forEach((select) => {
  if (select.value !== "") return;
  let zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (error) { return; }
  if (zone && Array.from(select.options).some((option) => option.value === zone)) {
    select.value = zone;
    const help = select.parentElement.querySelector(".help");
    if (help) help.textContent = `Proposed from your browser (${zone.replace(/_/g, " ")}) — save to keep it. ` + help.textContent;
  }
});
