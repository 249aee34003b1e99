// The audit log: every admin change (allowed or refused) and every sign-in, newest first;
// filters by who, path and dates; CSV export.

import { BASE, get, query, token } from "./api.js";
import { errorLine, field, h, pageHeader, run, showError, table } from "./ui.js";

const describe = (status) => (status === null || status === undefined ? "结果未记录" : String(status));

export async function render(view) {
  const actor = h("input", { class: "input mono", id: "audit-actor", placeholder: "用户名 / owner / key:名称" });
  const path = h("input", { class: "input mono", id: "audit-path", placeholder: "/admin/campaigns" });
  const from = h("input", { class: "input", id: "audit-from", type: "date" });
  const to = h("input", { class: "input", id: "audit-to", type: "date" });
  const error = errorLine();
  const results = h("div", { id: "audit-results" });
  const exportButton = h("button", { type: "button", class: "btn", id: "audit-export", "data-readonly-ok": true }, "导出 CSV");
  const params = () => ({ actor: actor.value.trim(), path: path.value.trim(), from: from.value, to: to.value });
  const filters = h(
    "form",
    { class: "toolbar" },
    field("操作人", actor),
    field("路径前缀", path),
    field("从", from),
    field("到", to),
    h("button", { type: "submit", class: "btn btn-primary" }, "查询"),
    exportButton,
    error,
  );

  async function load() {
    const data = await get("/admin/audit", { ...params(), limit: 200 });
    results.replaceChildren(
      table(
        ["时间（UTC）", "操作人", "角色", "操作", "路径", "对象", "结果"],
        data.items.map((e) =>
          h(
            "tr",
            { "data-id": e.id, "data-actor": e.actor },
            h("td", { class: "nowrap mono" }, e.at_iso.replace("T", " ").replace("Z", "")),
            h("td", { class: "mono" }, e.actor),
            h("td", {}, e.role || "—"),
            h("td", {}, e.event || e.method),
            h("td", { class: "mono clip" }, e.path),
            h("td", { class: "mono clip" }, e.target || ""),
            h("td", { class: "num", "data-role": "audit-status" }, describe(e.status)),
          ),
        ),
        "没有记录",
      ),
    );
  }

  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    run(null, load, error);
  });
  exportButton.addEventListener("click", () =>
    run(exportButton, async () => {
      // A download with the bearer token: fetched, then handed to the browser as a file.
      const response = await fetch(`${BASE}/admin/audit${query({ ...params(), format: "csv", limit: 5000 })}`, {
        headers: { Authorization: `Bearer ${token.get()}` },
        cache: "no-store",
        credentials: "omit",
      });
      if (!response.ok) throw new Error(`导出失败：HTTP ${response.status}`);
      const url = URL.createObjectURL(await response.blob());
      const a = h("a", { href: url, download: "wxless-audit.csv" });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    }, error),
  );
  view.append(pageHeader("操作日志"), h("p", { class: "muted" }, "所有后台修改（含被拒绝的）和登录记录，默认保留 400 天；不含任何密码或密钥。"), filters, results);
  await load().catch(showError);
}
