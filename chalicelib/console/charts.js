// Tiny SVG charts (no library: the console must work offline under a strict CSP). Colours and
// sizes are SVG attributes, not inline styles, so `style-src 'self'` holds.

import { h } from "./ui.js";

const NS = "http://www.w3.org/2000/svg";
export const PALETTE = ["#1aad19", "#576b95", "#fa9d3b", "#e64340", "#10aeff", "#8a63d2"];

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function niceMax(value) {
  if (value <= 4) return 4;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

function frame(width, height, max, labels, pad) {
  const parts = [];
  const plotH = height - pad.top - pad.bottom;
  for (let i = 0; i <= 4; i += 1) {
    const y = pad.top + plotH - (plotH * i) / 4;
    parts.push(s("line", { x1: pad.left, x2: width - pad.right, y1: y, y2: y, stroke: "#eceef2" }));
    parts.push(s("text", { x: pad.left - 6, y: y + 4, "text-anchor": "end", class: "axis" }, Math.round((max * i) / 4)));
  }
  const plotW = width - pad.left - pad.right;
  const every = Math.max(1, Math.ceil(labels.length / 8));
  labels.forEach((label, i) => {
    if (i % every !== 0 && i !== labels.length - 1) return;
    const x = pad.left + (labels.length === 1 ? plotW / 2 : (plotW * (i + 0.5)) / labels.length);
    parts.push(s("text", { x, y: height - 6, "text-anchor": "middle", class: "axis" }, label));
  });
  return parts;
}

function legend(series) {
  if (series.length < 2) return null;
  return h(
    "div",
    { class: "legend" },
    series.map((item, i) => h("span", { class: `legend-item legend-${i}` }, item.name)),
  );
}

// labels: x labels; series: [{name, values}]
export function lineChart(title, labels, series, { width = 640, height = 220 } = {}) {
  const pad = { top: 12, right: 12, bottom: 26, left: 40 };
  const max = niceMax(Math.max(0, ...series.flatMap((item) => item.values)));
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const x = (i) => pad.left + (labels.length === 1 ? plotW / 2 : (plotW * (i + 0.5)) / labels.length);
  const y = (v) => pad.top + plotH - (plotH * v) / max;
  const svg = s(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart-svg" },
    frame(width, height, max, labels, pad),
    series.map((item, k) => {
      const color = PALETTE[k % PALETTE.length];
      const points = item.values.map((v, i) => `${x(i)},${y(v)}`).join(" ");
      return s(
        "g",
        {},
        s("polyline", { points, fill: "none", stroke: color, "stroke-width": 2 }),
        item.values.map((v, i) =>
          s("circle", { cx: x(i), cy: y(v), r: 3, fill: color }, s("title", {}, `${labels[i]} ${item.name}: ${v}`)),
        ),
      );
    }),
  );
  return h("figure", { class: "chart", "data-chart": "line" }, h("figcaption", {}, title), svg, legend(series));
}

// Grouped vertical bars: labels on x, one bar per series.
export function barChart(title, labels, series, { width = 640, height = 220 } = {}) {
  const pad = { top: 12, right: 12, bottom: 26, left: 40 };
  const max = niceMax(Math.max(0, ...series.flatMap((item) => item.values)));
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const slot = plotW / Math.max(1, labels.length);
  const barW = Math.max(2, (slot * 0.7) / series.length);
  const svg = s(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart-svg" },
    frame(width, height, max, labels, pad),
    series.map((item, k) =>
      item.values.map((v, i) => {
        const barH = (plotH * v) / max;
        return s(
          "rect",
          {
            x: pad.left + slot * i + slot * 0.15 + barW * k,
            y: pad.top + plotH - barH,
            width: barW,
            height: Math.max(0, barH),
            fill: PALETTE[k % PALETTE.length],
            rx: 2,
          },
          s("title", {}, `${labels[i]} ${item.name}: ${v}`),
        );
      }),
    ),
  );
  return h("figure", { class: "chart", "data-chart": "bar" }, h("figcaption", {}, title), svg, legend(series));
}

// Horizontal bars for rankings: items [{label, value}].
export function rankChart(title, items, { width = 640 } = {}) {
  const rowH = 26;
  const labelW = 180;
  const height = Math.max(1, items.length) * rowH + 8;
  const max = Math.max(1, ...items.map((item) => item.value));
  const svg = s(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart-svg" },
    items.map((item, i) => {
      const w = ((width - labelW - 60) * item.value) / max;
      const y = 4 + i * rowH;
      const label = item.label.length > 14 ? `${item.label.slice(0, 13)}…` : item.label;
      return s(
        "g",
        {},
        s("text", { x: labelW - 8, y: y + 16, "text-anchor": "end", class: "axis" }, label),
        s("rect", { x: labelW, y: y + 4, width: Math.max(2, w), height: rowH - 10, fill: PALETTE[1], rx: 2 }, s("title", {}, `${item.label}: ${item.value}`)),
        s("text", { x: labelW + Math.max(2, w) + 6, y: y + 16, class: "axis" }, item.value),
      );
    }),
  );
  return h("figure", { class: "chart", "data-chart": "rank" }, h("figcaption", {}, title), items.length ? svg : h("p", { class: "muted" }, "暂无数据"));
}
