// 上一页 / 下一页 under a paged list. The lists answer {items, total, page, per_page, pages}
// (service/http/views/lists.py); `onPage(n)` loads page n.
import { h } from "./api.js";

export function pager(onPage) {
  const prev = h("button", { type: "button", class: "pager-prev" }, "上一页");
  const next = h("button", { type: "button", class: "pager-next" }, "下一页");
  const info = h("span", { class: "pager-info", "aria-live": "polite" });
  const el = h("nav", { class: "pager", "aria-label": "分页" }, prev, info, next);
  let current = 1;
  prev.addEventListener("click", () => onPage(current - 1));
  next.addEventListener("click", () => onPage(current + 1));
  return {
    el,
    update(result) {
      const pages = Math.max(1, Math.ceil(result.total / result.per_page));
      current = result.page;
      info.textContent = `第 ${Math.min(result.page, pages)} / ${pages} 页，共 ${result.total} 条`;
      prev.disabled = result.page <= 1;
      next.disabled = result.page >= pages;
      el.hidden = result.total === 0;
    },
  };
}

// A search box that waits for the user to stop typing before it asks the server.
export function onSearch(input, run, delay = 300) {
  let timer;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, delay);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { clearTimeout(timer); run(); }
  });
}

// 更多 above (or below) a list read by cursor (e.g. a project's 办理历程, newest page first):
// `onMore(cursor)` loads the page before `cursor` and calls update(nextCursor, shown, total).
export function morePager(onMore) {
  const more = h("button", { type: "button", class: "pager-more" }, "更多");
  const info = h("span", { class: "pager-info", "aria-live": "polite" });
  const el = h("nav", { class: "pager", "aria-label": "更早的记录" }, info, more);
  let cursor = null;
  more.addEventListener("click", async () => {
    more.disabled = true;
    try { await onMore(cursor); } finally { more.disabled = cursor === null; }
  });
  return {
    el,
    update(next, shown, total) {
      cursor = next ?? null;
      info.textContent = total ? `已显示最近 ${shown} / ${total} 条记录` : "";
      more.disabled = cursor === null;
      el.hidden = cursor === null;
    },
  };
}

// A list's loads, numbered: `const current = loads.next(); … await …; if (!current()) return;`, so
// a slow answer to an older query never overwrites a newer one.
export function newestOnly() {
  let n = 0;
  return { next() { const mine = ++n; return () => mine === n; } };
}

// A filter menu of a list, filled once at once (the list loads before its choices arrive) and
// again when they come: the address gives the first value, after that the select's own, which the
// user may have changed meanwhile. `sorted` sorts the options (the register's years and units).
export function fillChoices(select, values, { all, first = "", fmt = (v) => v, sorted = false }) {
  const wanted = select.dataset.filled ? select.value : first;
  select.dataset.filled = "1";
  const options = new Set(values.map(String));
  if (wanted) options.add(wanted);
  const shown = sorted ? [...options].sort() : [...options];
  select.replaceChildren(h("option", { value: "" }, all),
    ...shown.map((v) => h("option", { value: v, selected: v === wanted }, fmt(v))));
}
