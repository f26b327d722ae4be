// Narrow screens (docs/responsive.md), loaded on every page by base.html.
//
// 1. 菜单: below the breakpoint in responsive.css the navigation and 退出 fold behind one button.
//    The class nav-js says this script runs; without it the CSS leaves the links visible (wrapped),
//    so a failed script never hides 退出.
// 2. Card tables: a <table class="list cards"> turns into one card per row on a phone; each cell
//    shows its column's heading from data-label, copied here from <thead> as rows are (re)drawn by
//    the page's own script, so page scripts need not know about it.

const bar = document.querySelector(".topbar");
const toggle = bar && bar.querySelector(".nav-toggle");

function setOpen(open) {
  bar.classList.toggle("nav-open", open);
  toggle.setAttribute("aria-expanded", String(open));
}

if (toggle) {
  bar.classList.add("nav-js");
  toggle.addEventListener("click", () => setOpen(!bar.classList.contains("nav-open")));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && bar.classList.contains("nav-open")) {
      setOpen(false);
      toggle.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (bar.classList.contains("nav-open") && !bar.contains(event.target)) setOpen(false);
  });
}

function headings(table) {
  const row = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
  if (!row) return [];
  const out = [];
  for (const th of row.cells) for (let i = 0; i < th.colSpan; i++) out.push(th.textContent.trim());
  return out;
}

function label(table) {
  const names = headings(table);
  for (const body of table.tBodies) {
    for (const tr of body.rows) {
      let col = 0;
      for (const td of tr.cells) {
        const name = td.colSpan === 1 ? names[col] : "";
        if (name && td.dataset.label !== name) td.dataset.label = name;
        col += td.colSpan;
      }
    }
  }
}

// Live: a page with no card table (the modeler redraws its canvas constantly) pays one length check.
const cardTables = document.getElementsByClassName("cards");

function labelAll() {
  for (const table of cardTables) if (table.tagName === "TABLE") label(table);
}

labelAll();
// Attribute writes do not retrigger the observer: it watches only added and removed nodes.
new MutationObserver(() => { if (cardTables.length) labelAll(); })
  .observe(document.body, { childList: true, subtree: true });
