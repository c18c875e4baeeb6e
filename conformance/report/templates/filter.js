"use strict";
// Show only what the filter asks for; without this script every item stays shown.
const form = document.getElementById("filter");
const items = [...document.querySelectorAll("[data-v]")];
const groups = [...document.querySelectorAll("[data-group]")];
function apply() {
  const verdicts = new Set([...form.elements.v].filter((box) => box.checked).map((box) => box.value));
  const api = form.elements.api.value;
  const words = form.elements.q.value.trim().toLowerCase();
  let shown = 0;
  for (const item of items) {
    const heading = item.closest("[data-group]")?.firstElementChild.textContent ?? "";
    const text = `${heading} ${item.textContent}`.toLowerCase();
    item.hidden = !(verdicts.has(item.dataset.v) && (!api || item.dataset.api === api) && text.includes(words));
    shown += !item.hidden;
  }
  for (const group of groups) group.hidden = !group.querySelector("[data-v]:not([hidden])");
  form.elements.shown.value = `${shown} of ${items.length} shown`;
}
form.hidden = false;
form.addEventListener("input", apply);
form.addEventListener("reset", () => setTimeout(apply));
