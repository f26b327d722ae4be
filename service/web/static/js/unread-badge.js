// The unread count on 消息 in the nav (base.html). Pages that mark messages read dispatch
// "gf-unread-changed" on document; the badge then asks again.
import { api } from "./api.js";

const badge = document.querySelector("[data-unread-badge]");

async function refresh() {
  if (!badge) return;
  try {
    const { unread } = await api.get("/api/notifications/unread-count");
    badge.textContent = unread > 99 ? "99+" : String(unread);
    badge.hidden = !unread;
    badge.setAttribute("aria-label", `未读 ${unread} 条`);
  } catch { /* the nav works without the count */ }
}

document.addEventListener("gf-unread-changed", refresh);
refresh();
