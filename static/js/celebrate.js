// An approval's celebration (templates/challenges/_celebration.html): the points count up, the
// tier bar moves from where it was, new badges are unveiled. The markup already holds the final
// values; with prefers-reduced-motion nothing moves and they simply show.
(() => {
  const reduced = () => window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const DURATION = 900;

  function animate(step) {
    const start = performance.now();
    function frame(now) {
      const t = Math.min(1, (now - start) / DURATION);
      step(1 - Math.pow(1 - t, 3)); // ease-out
      if (t < 1) requestAnimationFrame(frame);
    }
    requestAnimationFrame(frame);
  }

  function play(root) {
    if (root.dataset.played !== undefined) return;
    root.dataset.played = "";
    if (reduced()) { root.classList.add("still"); return; }
    root.classList.add("playing");
    const counter = root.querySelector("[data-count-to]");
    const bar = root.querySelector("progress[data-from]");
    const target = counter ? Number(counter.dataset.countTo) : 0;
    const to = bar ? Number(bar.value) : 0;
    const from = bar ? Number(bar.dataset.from) : 0;
    const format = new Intl.NumberFormat("en-US");
    animate((k) => {
      if (counter) counter.textContent = format.format(Math.round(target * k));
      if (bar) bar.value = from + (to - from) * k;
    });
  }

  function scan(scope) {
    scope.querySelectorAll("[data-celebrate]").forEach(play);
  }

  document.addEventListener("htmx:afterSettle", () => scan(document));
  scan(document);
})();
