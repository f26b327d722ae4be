// Validating and deploying a process bundle (the version's BPMN and DMN files) from the modeler
// and the decision-table editor: the same server calls, confirmation and reports on both pages.
import { api, ApiError, describe, fail, h, toast } from "./api.js";
import { confirmPreview } from "./deploy-preview.js";

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
      status("error", "校验失败：" + describe(error));
      fail(error);
    } finally {
      busy(false);
    }
  }

  // Preview first (the same checker as deploy): problems are shown and nothing can be confirmed;
  // otherwise the dialog names the version replaced and what changes, and the deploy carries
  // `replaces`, so a version someone else deployed meanwhile is not silently replaced (409).
  async function deploy() {
    busy(true);
    status("info", "正在生成部署预览…");
    let files;
    let preview;
    try {
      files = await bundle();
      preview = await api.post("/api/processes/preview", { files });
    } catch (error) {
      status("error", "部署预览失败：" + describe(error));
      fail(error);
      busy(false);
      return;
    }
    busy(false);
    if (!preview.valid) {
      renderIssues(preview.issues, { deployRefused: true });
      status("error", `部署被拒绝：该版本无法运行，发现 ${preview.issues.length} 个问题，详见右侧“校验结果”。`);
      return;
    }
    if (preview.effect === "unchanged") {
      status("info", `内容与当前最新版本 ${preview.replaces.version} 相同，无需部署。`);
      return;
    }
    const answer = await confirmPreview(preview, { target: "deploy" });
    if (!answer.ok) {
      status("info", "已取消部署。");
      return;
    }
    busy(true);
    status("info", "正在部署…");
    try {
      const result = await api.post("/api/processes",
        { files, replaces: preview.replaces ? preview.replaces.id : null, reason: answer.reason });
      renderIssues([]);
      deployed(files, result);
      if (result.created) {
        status("success", `已部署为新版本：版本 ${result.version}。运行中的项目仍按原版本办理，此后新申报的项目使用版本 ${result.version}。`,
          h("a", { href: "/designer" }, "查看版本列表"));
        toast(`已部署版本 ${result.version}`, "success");
      } else if (result.promoted) {
        status("success", `内容与历史版本 ${result.version} 相同：已把版本 ${result.version} 重新设为最新（替换版本 ${result.replaced_version}）。`,
          h("a", { href: "/designer" }, "查看版本列表"));
        toast(`版本 ${result.version} 已重新设为最新`, "success");
      } else {
        status("info", `内容未变化，未生成新版本（当前仍为版本 ${result.version}）。`);
      }
    } catch (error) {
      if (error instanceof ApiError && error.issues?.length) {
        renderIssues(error.issues, { deployRefused: true });
        status("error", `部署被拒绝：${error.summary}，共 ${error.issues.length} 个问题，详见右侧“校验结果”。`);
      } else {
        status("error", "部署失败：" + describe(error));
        fail(error);
      }
    } finally {
      busy(false);
    }
  }

  return { validate, deploy };
}
