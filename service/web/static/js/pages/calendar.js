// 工作日历: a year's working days as the deadline counting sees them (GET /api/calendar/{year}),
// where the year's data comes from, and for admins loading the State Council's arrangement
// (PUT /api/calendar/{year}, the format of docs/calendar-file-format.md).
import { api, describe as errorText, h } from "../api.js";

const root = document.getElementById("calendar-root");
const isAdmin = root?.dataset.admin === "1";
const MIN_YEAR = 2000;
const MAX_YEAR = 2100;

const BASIS = {
  official: { label: "官方安排", text: "依据国务院办公厅发布的节假日安排（系统内置数据）。" },
  operator: { label: "运营方录入", text: "依据管理员载入的放假安排文件，以此为准。" },
  estimated: { label: "按周末估算（该年安排未发布）", text: "该年放假安排尚未载入，只按周末计算休息日；涉及该年的办理期限为预估，载入正式安排后自动重新计算。" },
};
const MONTHS = ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"];
const DOW = ["一", "二", "三", "四", "五", "六", "日"];

const pad = (n) => String(n).padStart(2, "0");
const iso = (y, m, d) => `${y}-${pad(m + 1)}-${pad(d)}`;

function beijingToday() {
  const bj = new Date(Date.now() + 8 * 3600 * 1000);
  return { year: bj.getUTCFullYear(), iso: iso(bj.getUTCFullYear(), bj.getUTCMonth(), bj.getUTCDate()) };
}


const basisBox = document.getElementById("cal-basis");
const months = document.getElementById("cal-months");
const calError = document.getElementById("cal-error");
const yearLabel = document.getElementById("year-label");
const yearInput = document.getElementById("year-input");
let year = null;

function initialYear() {
  const q = Number(new URLSearchParams(location.search).get("year"));
  return Number.isInteger(q) && q >= MIN_YEAR && q <= MAX_YEAR ? q : beijingToday().year;
}

async function show(y, { push = true } = {}) {
  if (!Number.isInteger(y) || y < MIN_YEAR || y > MAX_YEAR) {
    calError.textContent = `年份须在 ${MIN_YEAR}–${MAX_YEAR} 之间`;
    calError.hidden = false;
    return;
  }
  year = y;
  calError.hidden = true;
  yearLabel.textContent = `${y} 年`;
  yearInput.value = y;
  document.getElementById("year-prev").disabled = y <= MIN_YEAR;
  document.getElementById("year-next").disabled = y >= MAX_YEAR;
  document.querySelectorAll(".load-year").forEach((el) => { el.textContent = y; });
  if (push) history.replaceState(null, "", `?year=${y}`);
  root.dataset.ready = "0";
  basisBox.className = "cal-basis";
  basisBox.textContent = "正在加载…";
  try {
    const data = await api.get(`/api/calendar/${y}`);
    if (data.year !== year) return; // a later switch won
    render(data);
    root.dataset.ready = "1";
    root.dataset.year = String(y);
  } catch (e) {
    basisBox.textContent = "";
    calError.textContent = errorText(e);
    calError.hidden = false;
  }
}

function render(data) {
  const off = new Set(data.weekday_days_off);
  const makeup = new Set(data.weekend_workdays);
  const basis = BASIS[data.basis] || { label: data.basis, text: "" };
  let workdays = 0;
  const today = beijingToday().iso;
  const monthEls = MONTHS.map((name, m) => {
    const cells = DOW.map((d) => h("div", { class: "dow", "aria-hidden": "true" }, d));
    const first = new Date(Date.UTC(data.year, m, 1));
    const lead = (first.getUTCDay() + 6) % 7; // Monday first
    for (let i = 0; i < lead; i++) cells.push(h("div", { class: "pad" }));
    const days = new Date(Date.UTC(data.year, m + 1, 0)).getUTCDate();
    for (let d = 1; d <= days; d++) {
      const date = iso(data.year, m, d);
      const weekend = [0, 6].includes(new Date(Date.UTC(data.year, m, d)).getUTCDay());
      let kind = "work";
      let label = "工作日";
      if (off.has(date)) { kind = "holiday"; label = "放假"; }
      else if (makeup.has(date)) { kind = "makeup"; label = "调休上班"; }
      else if (weekend) { kind = "weekend"; label = "周末休息"; }
      if (kind === "work" || kind === "makeup") workdays += 1;
      const tag = kind === "holiday" ? "休" : kind === "makeup" ? "班" : null;
      cells.push(h("div", {
        class: `cal-day ${kind}${date === today ? " today" : ""}`, "data-date": date, "data-kind": kind,
        title: `${date} ${label}`, "aria-label": `${m + 1}月${d}日 ${label}`,
      }, String(d), tag ? h("span", { class: "tag" }, tag) : null));
    }
    return h("div", { class: "cal-month" }, h("h3", {}, `${data.year} 年 ${name}`), h("div", { class: "cal-grid" }, cells));
  });
  months.replaceChildren(...monthEls);
  basisBox.className = `cal-basis ${data.basis}`;
  basisBox.dataset.basis = data.basis;
  basisBox.replaceChildren(...[
    h("span", {}, "数据来源："), h("span", { class: "basis-label", id: "basis-label" }, basis.label),
    h("span", { class: "muted" }, basis.text),
    data.notice ? h("strong", { class: "notice", id: "cal-notice" }, data.notice) : null,
    h("span", { class: "cal-summary" },
      `工作日放假 ${off.size} 天 · 调休上班 ${makeup.size} 天 · 全年工作日 ${workdays} 天`),
  ].filter(Boolean));
}

document.getElementById("year-prev").addEventListener("click", () => show(year - 1));
document.getElementById("year-next").addEventListener("click", () => show(year + 1));
document.getElementById("year-form").addEventListener("submit", (event) => {
  event.preventDefault();
  show(Number(yearInput.value));
});

// ---- loading an arrangement (admins) ---------------------------------------------------------

function setupLoad() {
  const form = document.getElementById("cal-load-form");
  if (!form) return;
  const text = document.getElementById("cal-text");
  const error = document.getElementById("cal-load-error");
  const result = document.getElementById("cal-load-result");
  const submit = document.getElementById("cal-load-submit");

  document.getElementById("cal-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    if (file.size > 1024 * 1024) {
      error.textContent = "文件过大：放假安排文件通常只有几 KB，请确认选择了正确的文件";
      error.hidden = false;
      return;
    }
    text.value = (await file.text()).replace(/^\uFEFF/, "");
    error.hidden = true;
  });

  document.getElementById("cal-sample").addEventListener("click", () => {
    text.value = JSON.stringify({
      year,
      note: `国办发明电〔${year - 1}〕N号（请改为实际文号）`,
      days: [
        { name: "元旦", date: `${year}-01-01`, isOffDay: true },
        { name: "国庆节", date: `${year}-10-01`, isOffDay: true },
      ],
    }, null, 2);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    result.hidden = true;
    const raw = text.value.trim();
    if (!raw) {
      error.textContent = "请选择放假安排文件，或粘贴文件内容";
      error.hidden = false;
      return;
    }
    let body;
    try {
      body = JSON.parse(raw);
    } catch (e) {
      error.textContent = `文件内容不是有效的 JSON，请检查括号、引号和逗号（${e.message}）`;
      error.hidden = false;
      return;
    }
    const target = year;
    submit.disabled = true;
    try {
      const r = await api.put(`/api/calendar/${target}`, body);
      let message = `已载入 ${r.year ?? target} 年放假安排；重新计算了 ${r.recomputed ?? 0} 个预估期限`;
      if (r.still_provisional) message += `，仍有 ${r.still_provisional} 个期限因涉及未发布年份而为预估`;
      result.textContent = `${message}。`;
      result.hidden = false;
      await show(target);
    } catch (e) {
      error.textContent = errorText(e);
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
}

if (isAdmin) setupLoad();
show(initialYear(), { push: false });
