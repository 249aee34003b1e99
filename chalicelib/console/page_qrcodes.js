// Channel QR codes: create one per poster, branch or relationship manager (WeChat's
// qrcode/create), with an optional reply for whoever scans it and tags to give them; see scans
// and subscribes per code (summed from the message stream, seconds behind); download the
// image for print; and the channel report (followers each channel brought, kept 7 / 30 days).

import { del, get, keyedPost } from "./api.js";
import { replyEditor, summarize } from "./replies.js";
import { badge, confirmDialog, errorLine, field, fmtTime, h, notify, pageHeader, run, showError, table } from "./ui.js";

const DAY = 86400;

export async function render(view) {
  view.append(pageHeader("渠道二维码"));
  const list = h("div", { id: "qrcodes-list" });
  const preview = h("div", { id: "qrcode-preview" });
  const report = h("div", { id: "channel-report" });
  view.append(createForm(() => load().catch(showError)), preview, h("div", { class: "card" }, h("h2", {}, "二维码"), list), report);

  async function load() {
    const data = await get("/admin/qrcodes");
    list.replaceChildren(
      table(
        ["名称", "场景值", "类型", "扫码", "扫码关注", "回复", "标签", ""],
        data.items.map((code) => row(code)),
        "还没有渠道二维码",
      ),
      h("p", { class: "muted" }, data.as_of ? `统计截至 ${fmtTime(Math.floor(data.as_of / 1000))}` : ""),
    );
  }

  function row(code) {
    const kind = code.permanent
      ? badge("永久", "ok")
      : badge(code.expired ? "已过期" : `临时，${fmtTime(code.expires_at)} 过期`, code.expired ? "warn" : "");
    return h(
      "tr",
      { "data-id": code.id, "data-scene": code.scene },
      h("td", {}, code.name),
      h("td", { class: "mono" }, code.scene),
      h("td", {}, kind),
      h("td", { "data-stat": "scans" }, String(code.scans)),
      h("td", { "data-stat": "subscribes" }, String(code.subscribes)),
      h("td", { class: "clip" }, code.reply ? summarize(code.reply) : "—"),
      h("td", {}, (code.tag_ids || []).join("、") || "—"),
      h(
        "td",
        { class: "actions" },
        h("button", { type: "button", class: "btn btn-small", "data-role": "qrcode-image", onclick: (e) => run(e.target, () => showImage(code)) }, "图片"),
        h("button", { type: "button", class: "btn btn-small", "data-role": "qrcode-days", onclick: (e) => run(e.target, () => showDays(code)) }, "每日数据"),
        h("button", {
          type: "button",
          class: "btn btn-small btn-danger",
          "data-role": "qrcode-delete",
          onclick: async (event) => {
            if (!(await confirmDialog(`删除「${code.name}」？微信侧的二维码仍可扫描，扫码数据保留。`, { ok: "删除" }))) return;
            if ((await run(event.target, () => del(`/admin/qrcodes/${encodeURIComponent(code.id)}`))) !== undefined) {
              notify("已删除");
              load().catch(showError);
            }
          },
        }, "删除"),
      ),
    );
  }

  async function showImage(code) {
    const image = await get(`/admin/qrcodes/${encodeURIComponent(code.id)}/image`);
    const bytes = Uint8Array.from(atob(image.content_base64), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes], { type: image.content_type }));
    preview.replaceChildren(
      h(
        "div",
        { class: "card", "data-role": "qrcode-card" },
        h("h2", {}, `${code.name}（${code.scene}）`),
        h("img", { src: url, alt: code.name, width: 258, height: 258, "data-role": "qrcode-img" }),
        h("p", {}, h("a", { href: url, download: image.filename, class: "btn", "data-role": "qrcode-download" }, "下载图片"),
          " ", h("span", { class: "muted" }, "印刷建议不小于 8 cm × 8 cm；二维码内容：", h("span", { class: "mono" }, code.url))),
      ),
    );
  }

  async function showDays(code) {
    const data = await get(`/admin/qrcodes/${encodeURIComponent(code.id)}/stats`);
    const rows = data.items.filter((d) => d.scans || d.subscribes).reverse();
    preview.replaceChildren(
      h(
        "div",
        { class: "card", "data-role": "qrcode-days-card" },
        h("h2", {}, `${code.name}：近 30 天`),
        table(["日期", "扫码", "扫码关注"], rows.map((d) => h("tr", {}, h("td", {}, d.date), h("td", {}, String(d.scans)), h("td", {}, String(d.subscribes)))), "近 30 天没有扫码"),
      ),
    );
  }

  async function loadReport() {
    const data = await get("/admin/channels/report");
    const pct = (r) => (r.eligible ? `${Math.round((100 * r.retained) / r.eligible)}%（${r.retained}/${r.eligible}）` : "—");
    report.replaceChildren(
      h(
        "div",
        { class: "card" },
        h("h2", {}, "渠道报表"),
        table(
          ["渠道", "场景值", "扫码", "扫码关注", "首次带来粉丝", "仍关注", "7 天留存", "30 天留存", "消息数"],
          data.items.map((r) =>
            h(
              "tr",
              { "data-scene": r.scene },
              h("td", {}, r.name || "—"),
              h("td", { class: "mono" }, r.scene),
              h("td", {}, String(r.scans)),
              h("td", {}, String(r.subscribes)),
              h("td", { "data-stat": "followers" }, String(r.followers)),
              h("td", {}, String(r.still_subscribed)),
              h("td", {}, pct(r.retained_7d)),
              h("td", {}, pct(r.retained_30d)),
              h("td", {}, String(r.messages)),
            ),
          ),
          "还没有渠道数据",
        ),
        data.complete ? null : h("p", { class: "muted" }, "粉丝较多，报表只统计了部分粉丝记录。"),
      ),
    );
  }

  await load();
  loadReport().catch(showError);
}

function createForm(onCreated) {
  const name = h("input", { class: "input", id: "qrcode-name", maxlength: 64, required: true, placeholder: "如：上海分行大堂海报" });
  const scene = h("input", { class: "input mono", id: "qrcode-scene", maxlength: 64, required: true, placeholder: "如：branch-sh-001" });
  const permanent = h("input", { type: "checkbox", id: "qrcode-permanent" });
  const days = h("input", { class: "input", id: "qrcode-days", type: "number", min: 1, max: 30, value: 30 });
  const tags = h("input", { class: "input", id: "qrcode-tags", placeholder: "微信标签 ID，逗号分隔（可选）" });
  const withReply = h("input", { type: "checkbox", id: "qrcode-with-reply" });
  const editor = replyEditor({ type: "text", content: "" });
  const replyBox = h("div", { hidden: true }, editor.el);
  withReply.addEventListener("change", () => { replyBox.hidden = !withReply.checked; });
  permanent.addEventListener("change", () => { days.disabled = permanent.checked; });
  const error = errorLine();
  const save = h("button", { type: "submit", class: "btn btn-primary", id: "qrcode-save" }, "生成二维码");
  const create = keyedPost();
  const form = h(
    "form",
    { class: "card form", id: "qrcode-form" },
    h("h2", {}, "新建渠道二维码"),
    h("div", { class: "row" }, field("名称", name), field("场景值", scene, "1–64 个字符，扫码事件里原样带回")),
    h("div", { class: "row" },
      field("永久二维码", permanent, "永久码每个公众号最多 10 万个；临时码最长 30 天"),
      field("有效天数（临时码）", days)),
    field("扫码后打标签", tags),
    field("扫码回复", withReply, "不勾选时，扫码关注使用「关注回复」"),
    replyBox,
    error,
    h("div", { class: "form-actions" }, save),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const made = await run(
      save,
      () => {
        const body = { name: name.value.trim(), scene: scene.value, permanent: permanent.checked };
        if (!permanent.checked) body.expire_seconds = Math.round(Number(days.value) * DAY);
        const ids = tags.value.split(/[,，\s]+/).filter(Boolean).map(Number);
        if (ids.some((n) => !Number.isInteger(n))) throw new Error("标签 ID 必须是数字");
        if (ids.length) body.tag_ids = ids;
        if (withReply.checked) body.reply = editor.value();
        return create("/admin/qrcodes", body);
      },
      error,
    );
    if (made) {
      notify(`已生成「${made.name}」`);
      form.reset();
      replyBox.hidden = true;
      onCreated();
    }
  });
  return form;
}
