// The traces table's column chooser: each tick box shows or hides one column (every cell with
// that data-col), and the choice is kept in localStorage, so the next visit, and every
// experiment, shows the same columns. Assessment columns are keyed "a:NAME".
"use strict";

(function () {
  const chooser = document.getElementById("column-chooser");
  const table = document.getElementById("traces");
  if (!chooser || !table) return;
  const KEY = "otel-feedback.hidden-columns";

  function load() {
    try {
      const value = JSON.parse(localStorage.getItem(KEY) || "[]");
      return new Set(Array.isArray(value) ? value.filter((item) => typeof item === "string") : []);
    } catch (error) {
      return new Set();
    }
  }

  function save(hidden) {
    try {
      localStorage.setItem(KEY, JSON.stringify(Array.from(hidden)));
    } catch (error) {
      // Storage full or turned off: the choice holds for this page only.
    }
  }

  function apply(hidden) {
    for (const cell of table.querySelectorAll("[data-col]")) cell.hidden = hidden.has(cell.dataset.col);
  }

  const hidden = load();
  for (const box of chooser.querySelectorAll("input[data-col-toggle]")) {
    box.checked = !hidden.has(box.dataset.colToggle);
    box.addEventListener("change", () => {
      const current = load();  // another tab may have changed it
      if (box.checked) current.delete(box.dataset.colToggle); else current.add(box.dataset.colToggle);
      save(current);
      apply(current);
    });
  }
  apply(hidden);
})();
