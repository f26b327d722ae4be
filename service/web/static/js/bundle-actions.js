// Validating and deploying a process bundle (the version's BPMN and DMN files) from the modeler
// and the decision-table editor: the same server calls, confirmation and reports on both pages.
import { api, ApiError, fail, h, toast } from "./api.js";

const $ = (id) => document.getElementById(id);

export function status(kind, ...children) {
  const box = $("status");
  box.className = `status-line ${kind}`;
  box.replaceChildren(...children);
  box.hidden = children.length === 0;
}

export function busy(on) {
  for (const id of ["validate", "deploy", "download"]) $(id).disabled = on;
}

function confirmDeploy(note) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "confirm-dialog", id: "deploy-dialog" },
      h("h2", {}, "部署新版本"),
      h("p", {}, note),
      h("ul", { class: "help-list" },
        h("li", {}, "运行中的项目仍按其原版本办理，不受影响；"),
        h("li", {}, "部署后新申报的项目使用新版本。")),
      h("div", { class: "actions dialog-actions" },
        h("button", { type: "button", onclick: () => dialog.close("cancel") }, "取消"),
        h("button", { type: "button", class: "primary", onclick: () => dialog.close("ok") }, "确认部署")));
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// bundle(): the files to send; renderIssues(issues, {deployRefused}); deployed(files, result): the
// page takes the deployed files as its new baseline (and the new version when one was created).
export function bundleActions({ bundle, renderIssues, deployed, note }) {
  async function validate() {
    busy(true);
    status("info", "正在校验…");
    try {
      const result = await api.post("/api/processes/validate", { files: await bundle() });
      renderIssues(result.issues || []);
      if (result.valid) status("success", "校验通过，可以部署新版本。");
      else status("error", `校验未通过：发现 ${result.issues.length} 个问题，详见右侧“校验结果”。`);
    } catch (error) {
      status("error", "校验失败：" + (error.display || error));
      fail(error);
    } finally {
      busy(false);
    }
  }

  async function deploy() {
    if (!(await confirmDeploy(note))) return;
    busy(true);
    status("info", "正在部署…");
    try {
      const files = await bundle();
      const result = await api.post("/api/processes", { files });
      renderIssues([]);
      deployed(files, result);
      if (result.created) {
        status("success", `已部署为新版本：版本 ${result.version}。运行中的项目仍按原版本办理，此后新申报的项目使用版本 ${result.version}。`,
          h("a", { href: "/designer" }, "查看版本列表"));
        toast(`已部署版本 ${result.version}`, "success");
      } else {
        status("info", `内容未变化，未生成新版本（当前仍为版本 ${result.version}）。`);
      }
    } catch (error) {
      if (error instanceof ApiError && error.issues?.length) {
        renderIssues(error.issues, { deployRefused: true });
        status("error", `部署被拒绝：${error.summary}，共 ${error.issues.length} 个问题，详见右侧“校验结果”。`);
      } else {
        status("error", "部署失败：" + (error.display || error));
        fail(error);
      }
    } finally {
      busy(false);
    }
  }

  return { validate, deploy };
}
