// A template message's data as typed inputs: the account's templates (GET /admin/templates,
// synced from WeChat), and for the chosen one an input per field with its type's rule. Values
// are checked as typed (length, line breaks) and by the server when the campaign is created
// (POST /admin/templates/check rules: a value breaking its type's rule is refused, naming it).

import { get } from "./api.js";
import { badge, field, h } from "./ui.js";

// WeChat's rule per field type since 2023 (chalicelib/wechat/templates.py has the server's).
const HINTS = {
  thing: ["事物", "20 字以内"],
  number: ["数字", "32 位以内数字，可带小数"],
  letter: ["字母", "32 个以内字母"],
  symbol: ["符号", "5 个以内符号"],
  character_string: ["字符串", "32 位以内数字、字母或符号"],
  time: ["时间", "如 15:01 或 2019年10月1日 15:01"],
  date: ["日期", "如 2019年10月1日 或 2019-10-01"],
  amount: ["金额", "如 ¥100.00 或 100.00元"],
  phone_number: ["电话", "17 位以内数字、符号"],
  car_number: ["车牌", "8 位以内，如 粤A8Z888挂"],
  name: ["姓名", "10 个汉字或 20 个字母以内"],
  phrase: ["汉字", "5 个汉字以内"],
  const: ["常量", "20 字以内"],
  enum: ["枚举", "模板允许的取值"],
  keyword: ["关键词", "20 字以内，不能换行"],
  first: ["首行", "微信 2023 年起不再展示"],
  remark: ["备注", "微信 2023 年起不再展示"],
};
const PLACEHOLDER = /\{\{|\}\}|\{(\w*)\}/g;

// The fixed part of a value (without the {field} placeholders filled in per follower).
const fixedPart = (text) => text.replace(PLACEHOLDER, (token) => (token === "{{" ? "{" : token === "}}" ? "}" : ""));

function fieldWarning(spec, text) {
  if (/[\r\n]/.test(text)) return "不能换行";
  const fixed = fixedPart(text);
  if (spec.max && fixed.length > spec.max) return `${fixed.length} 字，超过 ${spec.max} 字`;
  return "";
}

function fieldInput(spec) {
  const [label, rule] = HINTS[spec.type] || ["文本", ""];
  const input = h("input", {
    class: "input",
    id: `campaign-field-${spec.key}`,
    "data-field": spec.key,
    "data-type": spec.type,
    inputmode: spec.type === "number" ? "decimal" : undefined,
    placeholder: rule,
  });
  const warning = h("span", { class: "form-error", "data-role": "field-warning" });
  input.addEventListener("input", () => {
    warning.textContent = fieldWarning(spec, input.value);
  });
  const hint = `${spec.key} · ${label}${spec.max ? `（≤ ${spec.max}）` : ""}`;
  return { el: h("div", {}, field(hint, input, rule), warning), key: spec.key, input };
}

export function templateEditor() {
  const choice = h("select", { class: "input", id: "campaign-template" }, h("option", { value: "" }, "— 选择模板 —"));
  const fields = h("div", { "data-role": "template-fields" });
  const content = h("pre", { class: "muted", "data-role": "template-content" });
  const url = h("input", { class: "input", id: "campaign-template-url", placeholder: "https://…（可选）" });
  const status = h("p", { class: "muted" }, "正在读取公众号的模板…");
  let templates = [];
  let inputs = [];

  function show() {
    const template = templates.find((t) => t.template_id === choice.value);
    inputs = template ? template.fields.map(fieldInput) : [];
    fields.replaceChildren(...inputs.map((i) => i.el));
    content.textContent = template ? template.content : "";
  }
  choice.addEventListener("change", show);
  get("/admin/templates")
    .then((listed) => {
      templates = listed.items;
      for (const t of templates) {
        choice.append(h("option", { value: t.template_id }, `${t.title}（${t.category ? "类目模板" : "行业模板"}）`));
      }
      status.replaceChildren(
        listed.stale ? badge("微信暂时无法访问，显示的是上次同步的模板", "warn") : "",
        " 每个字段按类型填写；{remark}、{nickname}、{city} 等按粉丝替换。",
      );
    })
    .catch((err) => status.replaceChildren(badge(`读取模板失败：${err.message}`, "warn")));

  return {
    el: h("div", { class: "reply-editor" }, field("模板", choice), status, content, fields, field("跳转链接", url)),
    value() {
      const out = { template_id: choice.value, data: {} };
      for (const { key, input } of inputs) {
        if (input.value.trim()) out.data[key] = input.value.trim();
      }
      if (url.value.trim()) out.url = url.value.trim();
      return out;
    },
  };
}
