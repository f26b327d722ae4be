// 用户管理 (admins): people with their unit, roles and contacts; create, edit, deactivate /
// reactivate, reset the password — all through /api/admin/users, which decides and validates.
import { api, describe, fail, h, toast } from "../api.js";
import { currentUser, openDialog } from "./dept-common.js";

const ROLE_LABELS = {
  department: "经办人", leader: "领导", reviewer: "审核人", supervisor: "督办",
  auditor: "审计", designer: "流程设计", admin: "系统管理员",
};
const me = currentUser();
const list = document.getElementById("user-list");
const count = document.getElementById("user-count");
const unitFilter = document.getElementById("unit-filter");
const search = document.getElementById("user-search");
const showInactive = document.getElementById("show-inactive");

let users = [];
let units = [];

async function load() {
  try {
    [users, units] = await Promise.all([api.get("/api/admin/users"), api.get("/api/admin/units")]);
  } catch (e) { fail(e); list.replaceChildren(h("li", { class: "muted" }, describe(e))); return; }
  const chosen = unitFilter.value;
  unitFilter.replaceChildren(h("option", { value: "" }, "全部单位"), h("option", { value: "-" }, "无单位"),
    ...units.map((u) => h("option", { value: u.name }, u.name)));
  unitFilter.value = chosen;
  paint();
}

function visible() {
  const text = search.value.trim().toLowerCase();
  return users.filter((u) => (showInactive.checked || u.active)
    && (!unitFilter.value || (unitFilter.value === "-" ? !u.unit : u.unit === unitFilter.value))
    && (!text || u.display_name.toLowerCase().includes(text) || u.username.toLowerCase().includes(text)));
}

function paint() {
  const rows = visible();
  count.textContent = `共 ${rows.length} 人`;
  if (!rows.length) { list.replaceChildren(h("li", { class: "muted" }, "没有符合条件的用户")); return; }
  list.replaceChildren(...rows.map((u) => h("li", { class: u.active ? "" : "inactive", dataset: { username: u.username } },
    h("div", { class: "person-head" },
      h("span", { class: "person-name" }, u.display_name),
      h("span", { class: "muted" }, u.username),
      u.active ? null : h("span", { class: "badge red" }, "已停用")),
    h("div", { class: "person-meta" },
      h("span", { class: "person-unit" }, u.unit || "无单位"),
      h("span", { class: "person-roles" }, u.roles.map((r) => ROLE_LABELS[r] || r).join("、") || "无角色")),
    h("div", { class: "person-meta" },
      h("span", {}, `电话：${u.phone || "—"}`), h("span", {}, `邮箱：${u.email || "—"}`)),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "edit-user", onclick: () => edit(u) }, "编辑"),
      h("button", { type: "button", class: "reset-password", onclick: () => resetPassword(u) }, "重置密码"),
      u.username === me.username ? null : u.active
        ? h("button", { type: "button", class: "danger deactivate", onclick: () => setActive(u, false) }, "停用")
        : h("button", { type: "button", class: "reactivate", onclick: () => setActive(u, true) }, "启用")))));
}

// The field's error under it: the server names the field (path) of each problem.
function showErrors(fields, e) {
  for (const node of Object.values(fields)) node.error.textContent = "";
  let placed = false;
  for (const err of e.errors || []) {
    const f = fields[err.path];
    if (f) { f.error.textContent = err.message; placed = true; }
  }
  if (!placed && e.field && fields[e.field]) { fields[e.field].error.textContent = e.display; placed = true; }
  return placed ? "请按提示修改" : (describe(e));
}

function field(name, label, input) {
  const error = h("span", { class: "field-error", dataset: { field: name } });
  return { input, error, node: h("label", {}, label, input, error) };
}

function userForm(u) {
  const fields = {};
  if (!u) {
    fields.username = field("username", "用户名（登录用）", h("input", { name: "username", required: true, maxlength: 50, autocomplete: "off" }));
    fields.password = field("password", "初始密码", h("input", { name: "password", type: "password", required: true, maxlength: 200, autocomplete: "new-password" }));
  }
  fields.display_name = field("display_name", "姓名", h("input", { name: "display_name", required: true, maxlength: 50, value: u?.display_name || "" }));
  fields.unit = field("unit", "单位", h("select", { name: "unit" }, h("option", { value: "" }, "无单位"),
    units.map((x) => h("option", { value: x.name, selected: u?.unit === x.name }, x.name))));
  const boxes = Object.entries(ROLE_LABELS).map(([role, label]) => h("label", {},
    h("input", { type: "checkbox", name: "roles", value: role, checked: (u?.roles || []).includes(role) }), label));
  fields.roles = { error: h("span", { class: "field-error", dataset: { field: "roles" } }) };
  fields.roles.node = h("fieldset", {}, h("legend", {}, "角色"), h("div", { class: "roles" }, boxes), fields.roles.error);
  fields.phone = field("phone", "电话", h("input", { name: "phone", maxlength: 40, value: u?.phone || "", placeholder: "0546-8123456 或手机号" }));
  fields.email = field("email", "电子邮箱", h("input", { name: "email", type: "text", maxlength: 200, value: u?.email || "" }));
  const body = h("div", { class: "people-form" }, Object.values(fields).map((f) => f.node));
  const data = () => {
    const out = {
      display_name: fields.display_name.input.value, unit: fields.unit.input.value || null,
      roles: boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value),
      phone: fields.phone.input.value, email: fields.email.input.value,
    };
    if (!u) { out.username = fields.username.input.value; out.password = fields.password.input.value; }
    return out;
  };
  return { fields, body, data };
}

function dialog(options) {
  openDialog(options).classList.add("people-dialog");
}

function create() {
  const f = userForm(null);
  dialog({
    title: "新建用户", body: f.body, okText: "创建",
    onOk: async () => {
      try {
        const made = await api.post("/api/admin/users", f.data());
        toast(`已创建用户：${made.display_name}`, "success");
      } catch (e) { return showErrors(f.fields, e); }
      await load();
      return null;
    },
  });
}

function edit(u) {
  const f = userForm(u);
  dialog({
    title: `编辑：${u.display_name}`, body: f.body, okText: "保存",
    onOk: async () => {
      try { await api.put(`/api/admin/users/${encodeURIComponent(u.username)}`, f.data()); } catch (e) { return showErrors(f.fields, e); }
      toast("已保存", "success");
      await load();
      return null;
    },
  });
}

function resetPassword(u) {
  const input = h("input", { type: "password", name: "password", maxlength: 200, autocomplete: "new-password" });
  const fields = { password: field("password", "新密码（至少 10 位，含大写、小写、数字、符号中的三类）", input) };
  dialog({
    title: `重置密码：${u.display_name}`, okText: "重置",
    body: h("div", { class: "people-form" }, h("p", { class: "muted" }, "重置后该用户的所有会话立即结束，需用新密码登录。"), fields.password.node),
    onOk: async () => {
      try { await api.post(`/api/admin/users/${encodeURIComponent(u.username)}/password`, { password: input.value }); } catch (e) { return showErrors(fields, e); }
      toast(`已重置 ${u.display_name} 的密码`, "success");
      return null;
    },
  });
}

function setActive(u, active) {
  const label = active ? "启用" : "停用";
  dialog({
    title: `${label}用户：${u.display_name}`, okText: label, danger: !active,
    body: h("p", {}, active ? "启用后该用户可以重新登录。" : "停用后该用户立即退出所有会话，不能再登录；已办理的记录保留。"),
    onOk: async () => {
      try { await api.post(`/api/admin/users/${encodeURIComponent(u.username)}/${active ? "reactivate" : "deactivate"}`); } catch (e) { return describe(e); }
      toast(`已${label}：${u.display_name}`, "success");
      await load();
      return null;
    },
  });
}

document.getElementById("new-user").addEventListener("click", create);
for (const node of [unitFilter, showInactive]) node.addEventListener("change", paint);
search.addEventListener("input", paint);
load();
