// 代理设置 on the inbox: name a colleague of my unit to work what I hold while I am away, see and
// cancel my settings, and whom I stand in for (GET/POST /api/me/substitutes). Dates are Beijing days.
import { api, describe, fmtDate, h, toast } from "./api.js";

const STATES = { planned: "未开始", running: "代理中", ended: "已结束", cancelled: "已取消" };

function period(r) {
  return `${fmtDate(r.starts_on)} 至 ${fmtDate(r.ends_on)}`;
}

export function substitutesCard(container, onChange) {
  async function load() {
    let data;
    try {
      data = await api.get("/api/me/substitutes");
    } catch (e) {
      container.replaceChildren(h("p", { class: "muted" }, describe(e)));
      return;
    }
    render(data);
  }

  function render(data) {
    const covering = data.covering_today.length
      ? h("p", { class: "sub-covering", id: "sub-covering" },
        `今天您代理：${data.covering_today.map((c) => c.name).join("、")}。其认领或受托的任务在待办中可直接办理。`)
      : null;
    const forMe = data.for_me.filter((r) => r.state === "planned").map((r) =>
      h("li", {}, `${r.username_name} 指定您在 ${period(r)} 代理`));
    const mine = data.mine.map((r) => h("li", { dataset: { id: r.id, state: r.state } },
      h("span", {}, `${r.substitute_name}，${period(r)}`),
      h("span", { class: `badge ${r.state === "running" ? "blue" : ""}` }, STATES[r.state] || r.state),
      ["planned", "running"].includes(r.state)
        ? h("button", { type: "button", class: "sub-cancel", onclick: () => cancel(r) }, "取消")
        : null));
    const pick = h("select", { name: "substitute", id: "sub-who", required: true },
      h("option", { value: "" }, data.candidates.length ? "请选择本单位同事" : "本单位没有其他在岗人员"),
      data.candidates.map((c) => h("option", { value: c.username }, c.display_name)));
    const starts = h("input", { type: "date", name: "starts_on", id: "sub-from", min: data.today, value: data.today, required: true });
    const ends = h("input", { type: "date", name: "ends_on", id: "sub-to", min: data.today, required: true });
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    const form = h("form", { class: "filters sub-form", id: "sub-form" },
      h("label", {}, "代理人", pick), h("label", {}, "开始日期", starts), h("label", {}, "结束日期", ends),
      h("button", { type: "submit", class: "primary" }, "设置代理"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      try {
        await api.post("/api/me/substitutes", { substitute: pick.value, starts_on: starts.value, ends_on: ends.value });
        toast("已设置代理人，并已通知对方", "success");
        await load();
        onChange();
      } catch (e) {
        error.textContent = describe(e);
        error.hidden = false;
      }
    });
    container.replaceChildren(
      covering || "",
      forMe.length ? h("ul", { class: "sub-list" }, forMe) : "",
      h("p", { class: "muted" }, `外出期间，代理人可办理您已认领或受托的任务（最长 ${data.max_days} 天，双方均记入审计）。`),
      mine.length ? h("ul", { class: "sub-list", id: "sub-mine" }, mine) : "",
      form, error);
  }

  async function cancel(r) {
    try {
      await api.post(`/api/me/substitutes/${r.id}/cancel`);
      toast(`已取消代理：${r.substitute_name}`, "success");
      await load();
      onChange();
    } catch (e) {
      toast(describe(e), "error");
    }
  }

  load();
}
