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
// The advocate's header on narrow screens: the Menu button shows and hides the links; Escape or
// a click elsewhere closes it and the account menu. Without JavaScript the links stay listed.
document.querySelectorAll("[data-menu-toggle]").forEach((toggle) => {
  toggle.closest(".topbar").classList.add("has-menu");
});
function closeMenus(except) {
  document.querySelectorAll("details[data-account-menu][open]").forEach((menu) => {
    if (!menu.contains(except)) { menu.open = false; }
  });
  document.querySelectorAll(".topbar.menu-open").forEach((bar) => {
    if (!bar.contains(except)) {
      bar.classList.remove("menu-open");
      bar.querySelector("[data-menu-toggle]").setAttribute("aria-expanded", "false");
    }
  });
}
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-menu-toggle]");
  if (toggle) {
    const open = toggle.closest(".topbar").classList.toggle("menu-open");
    toggle.setAttribute("aria-expanded", String(open));
    return;
  }
  closeMenus(event.target);
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") { closeMenus(null); }
});
// A table that scrolls sideways (phones) takes keyboard focus, so its hidden columns can be
// scrolled into view without a mouse (WCAG 2.1.1; axe: scrollable-region-focusable).
// Tables inside .sr-only (a chart's numbers for screen readers) are skipped: clipped to one
// pixel they always "scroll", and a focus stop nobody can see is worse than none.
function focusableScrollers() {
  document.querySelectorAll("table, .table-wrap").forEach((box) => {
    const scrolls = box.scrollWidth > box.clientWidth + 1 && !box.closest(".sr-only");
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.dataset.scrollFocus = "";
    } else if (!scrolls && box.dataset.scrollFocus !== undefined) {
      box.removeAttribute("tabindex");
      delete box.dataset.scrollFocus;
    }
  });
}
focusableScrollers();
document.addEventListener("htmx:afterSettle", focusableScrollers);
window.addEventListener("resize", focusableScrollers);
// Every htmx request names the balance- and count-dependent parts this page holds, so the
// response to an act (redeem, approval) can refresh each of them out of band (hub/htmx.py).
document.addEventListener("htmx:configRequest", (event) => {
  const parts = new Set([...document.querySelectorAll("[data-part]")].map((el) => el.dataset.part));
  if (parts.size) { event.detail.headers["X-Vouch-Parts"] = [...parts].join(" "); }
});
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
// The staff side navigation (templates/_staff_nav.html) arrives open: a column of links on wide
// screens (its Menu summary hidden by CSS), folded into the Menu below 900 px, and again when the
// window narrows. Without JavaScript it simply stays open.
const staffNav = document.getElementById("staff-nav");
if (staffNav) {
  const wide = window.matchMedia("(min-width: 900px)");
  const fit = () => { staffNav.open = wide.matches; };
  fit();
  wide.addEventListener("change", fit);
}
// The reward editor: a kind sent by post (rewards.models.SHIPPED_KINDS) ticks "Sent by post" when
// chosen, another kind unticks it; the manager may still change the box afterwards.
document.querySelectorAll("select[data-shipped-kinds]").forEach((kind) => {
  const box = kind.form && kind.form.querySelector("input[name=needs_shipping]");
  if (!box) return;
  const shipped = kind.dataset.shippedKinds.split(" ");
  kind.addEventListener("change", () => { box.checked = shipped.includes(kind.value); });
});
// The period switch swaps the page's main part in place (templates/admin/_period_switch.html):
// focus goes back to the control used — the chosen period's tab, or the custom range's button —
// instead of falling to the page's start.
document.addEventListener("htmx:afterSettle", (event) => {
  const from = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (!from || !from.closest || !from.closest(".period-switch")) return;
  const again = from.tagName === "FORM"
    ? document.querySelector(".period-switch form button[type=submit]")
    : document.querySelector('.period-switch a[aria-current="page"]');
  if (again) { again.focus(); }
});
