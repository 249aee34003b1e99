// Locations: the bank's points of service (branches, ATMs) and how a follower's location message
// is answered (the nearest few). List, add, edit, enable/disable, delete; a CSV import (a branch
// list exported from a spreadsheet; the server validates every row before writing any); the
// answer's settings; and a "what would a follower here get" check.

import { del, get, keyedPost, patch, post, put } from "./api.js";
import { badge, confirmDialog, errorLine, field, h, lines, notify, pageHeader, run, showError, table } from "./ui.js";

const PAGE_SIZE = 50;
const TEXT_FIELDS = [
  ["name", "名称", 64],
  ["address", "地址", 200],
  ["phone", "电话", 40],
  ["hours", "营业时间", 100],
  ["url", "详情链接", 1024],
];

export async function render(view) {
  view.append(pageHeader("网点与位置回复"));
  const editorCard = h("div", {});
  const list = h("div", { id: "points-results" });
  const tag = h("input", { class: "input", id: "points-tag", placeholder: "如：branch、ATM" });
  const filters = h("form", { class: "toolbar" }, field("标签", tag), h("button", { type: "submit", class: "btn btn-primary" }, "查询"));
  const more = h("button", { type: "button", class: "btn", hidden: true, "data-role": "points-more" }, "加载更多");
  const rows = [];
  let cursor = null;

  function pointForm(point) {
    const inputs = {};
    for (const [key, , max] of TEXT_FIELDS) {
      inputs[key] = h("input", { class: "input", id: `point-${key}`, maxlength: max, value: (point && point[key]) || "" });
    }
    const lat = h("input", { class: "input", id: "point-lat", type: "number", step: "any", min: -90, max: 90, value: point ? point.lat : "" });
    const lng = h("input", { class: "input", id: "point-lng", type: "number", step: "any", min: -180, max: 180, value: point ? point.lng : "" });
    const tags = h("input", { class: "input", id: "point-tags", value: point ? point.tags.join(", ") : "branch" });
    const error = errorLine();
    const save = h("button", { type: "submit", class: "btn btn-primary", id: "point-save" }, point ? "保存" : "添加网点");
    const create = keyedPost(); // one Idempotency-Key per submission, kept for its retries
    const form = h(
      "form",
      { class: "card form", id: "point-form" },
      h("h2", {}, point ? `编辑：${point.name}` : "添加网点"),
      h("div", { class: "row" }, field("名称", inputs.name), field("标签", tags, "逗号分隔，如 branch、ATM")),
      field("地址", inputs.address),
      h("div", { class: "row" }, field("纬度", lat, "如 23.1372"), field("经度", lng, "如 113.329")),
      h("div", { class: "row" }, field("电话", inputs.phone), field("营业时间", inputs.hours)),
      field("详情链接", inputs.url, "图文回复时点开的页面（可选）"),
      error,
      h("div", { class: "form-actions" }, save, point ? h("button", { type: "button", class: "btn", onclick: () => editorCard.replaceChildren(pointForm(null)) }, "取消") : null),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const saved = await run(
        save,
        () => {
          const body = { tags: lines(tags.value) };
          for (const [key] of TEXT_FIELDS) {
            const value = inputs[key].value.trim();
            if (value || point) body[key] = value || null;
          }
          if (lat.value === "" || lng.value === "") throw new Error("请填写经纬度");
          body.lat = Number(lat.value);
          body.lng = Number(lng.value);
          return point ? put(`/admin/points/${encodeURIComponent(point.id)}`, body) : create("/admin/points", body);
        },
        error,
      );
      if (saved) {
        notify(point ? `「${saved.name}」已保存` : `已添加「${saved.name}」`);
        editorCard.replaceChildren(pointForm(null));
        load(true).catch(showError);
      }
    });
    return form;
  }

  function row(point) {
    const toggle = h("input", {
      type: "checkbox",
      class: "switch",
      checked: point.enabled,
      "aria-label": "启用",
      "data-role": "point-enabled",
      onchange: async () => {
        const wanted = toggle.checked;
        const done = await run(toggle, () => patch(`/admin/points/${encodeURIComponent(point.id)}`, { enabled: wanted }));
        if (done) notify(wanted ? `已启用「${point.name}」` : `已停用「${point.name}」`);
        else toggle.checked = !wanted;
      },
    });
    return h(
      "tr",
      { "data-id": point.id, "data-name": point.name },
      h("td", {}, point.name),
      h("td", { class: "clip" }, point.address || "—"),
      h("td", {}, point.tags.map((t) => badge(t))),
      h("td", { class: "mono nowrap" }, `${point.lat}, ${point.lng}`),
      h("td", {}, point.phone || "—"),
      h("td", {}, point.hours || "—"),
      h("td", {}, toggle),
      h(
        "td",
        { class: "actions" },
        h("button", {
          type: "button",
          class: "btn btn-small",
          "data-role": "point-edit",
          onclick: () => {
            editorCard.replaceChildren(pointForm(point));
            editorCard.scrollIntoView();
          },
        }, "编辑"),
        h("button", {
          type: "button",
          class: "btn btn-small btn-danger",
          "data-role": "point-delete",
          onclick: async (event) => {
            if (!(await confirmDialog(`删除网点「${point.name}」？`, { ok: "删除" }))) return;
            if ((await run(event.target, () => del(`/admin/points/${encodeURIComponent(point.id)}`))) !== undefined) {
              notify("网点已删除");
              load(true).catch(showError);
            }
          },
        }, "删除"),
      ),
    );
  }

  let latest = 0; // a new query drops the answers to older ones (the first load, "more")
  async function load(reset) {
    if (reset) {
      latest += 1;
      rows.length = 0;
      cursor = null;
    }
    const ticket = latest;
    const data = await get("/admin/points", { tag: tag.value.trim(), limit: PAGE_SIZE, cursor });
    if (ticket !== latest) return;
    rows.push(...data.items.map(row));
    cursor = data.next;
    more.hidden = !cursor;
    list.replaceChildren(table(["名称", "地址", "标签", "纬度, 经度", "电话", "营业时间", "启用", ""], rows, "还没有网点"));
  }
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    load(true).catch(showError);
  });
  more.addEventListener("click", () => run(more, () => load(false)));

  editorCard.append(pointForm(null));
  const reload = () => load(true).catch(showError);
  view.append(filters, list, more, editorCard, importCard(reload), await settingsCard(), nearestCard());
  await load(true);
}

async function settingsCard() {
  const s = await get("/admin/points/settings");
  const count = h("input", { class: "input", type: "number", min: 1, max: 10, id: "points-count", value: s.count });
  const format = h(
    "select",
    { class: "input", id: "points-format" },
    [["text", "文字列表"], ["news", "一条图文"]].map(([value, label]) => h("option", { value, selected: s.format === value }, label)),
  );
  const radius = h("input", { class: "input", type: "number", min: 0, step: "any", id: "points-radius", value: s.max_distance_km });
  const title = h("input", { class: "input", maxlength: 64, value: s.title });
  const tags = h("input", { class: "input", value: (s.tags || []).join(", ") });
  const events = h("input", { type: "checkbox", id: "points-events", checked: s.answer_location_events });
  const error = errorLine();
  const save = h("button", { type: "submit", class: "btn btn-primary", id: "points-settings-save" }, "保存设置");
  const form = h(
    "form",
    { class: "card form", id: "points-settings" },
    h("h2", {}, "位置回复"),
    h("p", { class: "muted" }, "粉丝发送位置时，回复离他最近的几个网点。"),
    h("div", { class: "row" }, field("回复几个", count), field("形式", format), field("最远（公里）", radius, "0 表示不限")),
    h("div", { class: "row" }, field("标题", title), field("只推荐这些标签", tags, "逗号分隔，留空为全部")),
    h("label", { class: "check" }, events, " 也回复公众号自动上报的位置（每 5 秒一次，通常不需要）"),
    error,
    h("div", { class: "form-actions" }, save),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      count: Number(count.value),
      format: format.value,
      max_distance_km: Number(radius.value || 0),
      title: title.value.trim(),
      tags: lines(tags.value),
      answer_location_events: events.checked,
    };
    if (await run(save, () => put("/admin/points/settings", body), error)) notify("位置回复设置已保存");
  });
  return form;
}

function nearestCard() {
  const lat = h("input", { class: "input", type: "number", step: "any", id: "nearest-lat", placeholder: "23.138" });
  const lng = h("input", { class: "input", type: "number", step: "any", id: "nearest-lng", placeholder: "113.328" });
  const results = h("div", { "data-role": "nearest-results" });
  const error = errorLine();
  const go = h("button", { type: "submit", class: "btn", id: "nearest-go" }, "试一试");
  const form = h(
    "form",
    { class: "card form", id: "points-nearest" },
    h("h2", {}, "粉丝在这里会收到"),
    h("div", { class: "toolbar" }, field("纬度", lat), field("经度", lng), go),
    error,
    results,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = await run(go, () => get("/admin/points/nearest", { lat: lat.value, lng: lng.value }), error);
    if (!data) return;
    results.replaceChildren(
      table(
        ["网点", "距离", "地址"],
        data.items.map((p) => h("tr", {}, h("td", {}, p.name), h("td", { class: "num" }, p.distance), h("td", { class: "clip" }, p.address || "—"))),
        "范围内没有网点",
      ),
    );
  });
  return form;
}

// -- CSV import ----------------------------------------------------------------------------------

// Header names (English, or the Chinese a spreadsheet is likely to have) -> point fields.
const COLUMNS = {
  id: "id", name: "name", 名称: "name", lat: "lat", 纬度: "lat", lng: "lng", 经度: "lng",
  address: "address", 地址: "address", phone: "phone", 电话: "phone", hours: "hours",
  营业时间: "hours", tags: "tags", 标签: "tags", url: "url", 链接: "url",
};
const column = (name) => {
  const key = name.trim();
  return Object.hasOwn(COLUMNS, key) ? COLUMNS[key] : Object.hasOwn(COLUMNS, key.toLowerCase()) ? COLUMNS[key.toLowerCase()] : undefined;
};

// RFC 4180: quoted fields may hold commas, quotes ("") and line breaks.
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  const src = text.replace(/^\uFEFF/, ""); // Excel's UTF-8 byte-order mark
  for (let i = 0; i < src.length; i += 1) {
    const ch = src[i];
    if (quoted) {
      if (ch === '"' && src[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && src[i + 1] === "\n") i += 1;
      row.push(cell);
      if (row.some((c) => c.trim())) rows.push(row);
      row = [];
      cell = "";
    } else cell += ch;
  }
  row.push(cell);
  if (row.some((c) => c.trim())) rows.push(row);
  return rows;
}

function pointsFromCsv(text) {
  const [header, ...rows] = parseCsv(text);
  if (!header || !rows.length) throw new Error("CSV 至少需要表头和一行数据");
  const fields = header.map(column);
  const unknown = header.filter((_, i) => !fields[i]);
  if (unknown.length) throw new Error(`不认识的列：${unknown.join("、")}（可用：${Object.keys(COLUMNS).join(", ")}）`);
  for (const needed of ["name", "lat", "lng"]) if (!fields.includes(needed)) throw new Error(`缺少列：${needed}`);
  return rows.map((cells) => {
    const point = {};
    fields.forEach((key, i) => {
      const value = (cells[i] || "").trim();
      if (!value) return;
      if (key === "lat" || key === "lng") point[key] = Number.isNaN(Number(value)) ? value : Number(value);
      else if (key === "tags") point[key] = value.split(/[;；|、]/).map((t) => t.trim()).filter(Boolean);
      else point[key] = value;
    });
    return point;
  });
}

function importCard(reload) {
  const csv = h("textarea", { class: "input mono", rows: 6, id: "points-csv", placeholder: "name,lat,lng,address,phone,hours,tags\n天河支行,23.1372,113.329,天河路 1 号,020-12345678,9:00-17:00,branch;ATM" });
  const file = h("input", { type: "file", accept: ".csv,text/csv", id: "points-csv-file" });
  file.addEventListener("change", async () => {
    if (file.files[0]) csv.value = await file.files[0].text();
  });
  const replace = h("input", { type: "checkbox", id: "points-replace" });
  const error = errorLine();
  const go = h("button", { type: "submit", class: "btn btn-primary", id: "points-import" }, "导入");
  const form = h(
    "form",
    { class: "card form", id: "points-import-form" },
    h("h2", {}, "批量导入"),
    h("p", { class: "muted" }, "第一行是列名：name（名称）、lat（纬度）、lng（经度）必填，可选 address、phone、hours、tags（用 ; 分隔）、url、id（同 id 的网点会被覆盖）。先检查全部行，有错误时一行也不写入。"),
    field("CSV", csv),
    file,
    h("label", { class: "check" }, replace, " 替换全部网点（删除不在此文件中的网点）"),
    error,
    h("div", { class: "form-actions" }, go),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let points;
    try {
      points = pointsFromCsv(csv.value);
    } catch (err) {
      error.textContent = err.message;
      return;
    }
    if (replace.checked && !(await confirmDialog(`用这 ${points.length} 个网点替换全部网点？不在文件中的网点将被删除。`, { ok: "替换" }))) return;
    const done = await run(
      go,
      () =>
        post("/admin/points/import", { points, replace: replace.checked }).catch((err) => {
          // points[i] is the (i + 2)-th line of the file: say so.
          const at = /points\[(\d+)\]/.exec(err.message);
          if (at) err.message += `（CSV 第 ${Number(at[1]) + 2} 行）`;
          throw err;
        }),
      error,
    );
    if (!done) return;
    notify(`已导入 ${done.imported} 个网点${done.deleted ? `，删除 ${done.deleted} 个` : ""}`);
    csv.value = "";
    reload();
  });
  return form;
}
