/* The sweep page's "Where the spread comes from" card (issue 16): horizontal bars of the σ each
   random factor adds, with CI whiskers, drawn as inline SVG from the numbers and places that
   api/web/variance_view.py puts in the comparison (`variance_card`). sweep.js announces each
   comparison it loads with a "sweepd:comparison" event; this script only listens and draws. */
"use strict";

(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const box = document.getElementById("variance-body");
  if (!box) return;

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value !== null && value !== undefined) node.setAttribute(key, String(value));
    }
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function say(text, kind) {
    box.replaceChildren(sweepd.el("p", { class: kind === "error" ? "alert alert-error" : "muted" }, text));
  }

  function bar(b) {
    const mid = b.y + b.h / 2;
    const g = svg("g", { class: "variance-bar", "data-name": b.name, "data-kind": b.kind,
      "data-sd": b.sd, "data-sd-low": b.sd_low, "data-sd-high": b.sd_high, "data-share": b.share });
    g.append(svg("title", {}, b.title));
    g.append(svg("text", { x: b.x0 - 8, y: mid + 4, "text-anchor": "end", class: "variance-label" }, b.label));
    const noise = b.kind === "noise";
    g.append(svg("rect", { x: b.x0, y: b.y, width: Math.max(0, b.x - b.x0), height: b.h, fill: b.color,
      "fill-opacity": noise ? 0.6 : 0.85, stroke: noise ? "#8C96A8" : null, "stroke-dasharray": noise ? "3 2" : null }));
    if (b.whisker) {
      const tick = { stroke: "#1f2430", "stroke-width": 1.5 };
      g.append(svg("line", { x1: b.lo, x2: b.hi, y1: mid, y2: mid, ...tick, class: "variance-ci" }));
      for (const x of [b.lo, b.hi]) g.append(svg("line", { x1: x, x2: x, y1: mid - 5, y2: mid + 5, ...tick }));
    }
    g.append(svg("text", { x: Math.max(b.x, b.whisker ? b.hi : b.x) + 6, y: mid + 4, class: "variance-value" }, b.value));
    return g;
  }

  function chart(card) {
    const [x0, x1] = card.plot_x;
    const bottom = card.axis_y;
    const root = svg("svg", { id: "variance-chart", viewBox: `0 0 ${card.width} ${card.height}`, role: "img",
      "font-size": 12, fill: "#1f2430", "aria-label": card.sentence, width: "100%",
      style: "min-width: 520px; display: block" });
    const axis = svg("g", { class: "variance-axis", "font-size": 11, fill: "#5d6675" });
    for (const t of card.ticks) {
      axis.append(svg("line", { x1: t.x, x2: t.x, y1: 4, y2: bottom, stroke: "#e3e6eb" }));
      axis.append(svg("text", { x: t.x, y: t.y, "text-anchor": "middle" }, t.text));
    }
    axis.append(svg("line", { x1: x0, x2: x1, y1: bottom, y2: bottom, stroke: "#8C96A8" }));
    root.append(axis, ...card.bars.map(bar));
    return root;
  }

  function show(data) {
    if (!data) return say("The comparison could not be loaded, so neither could the decomposition.", "error");
    if (!data.comparison) return say("No trial has finished yet.");
    const card = data.variance_card;
    if (!card) return say("This comparison carries no decomposition.");
    if (!card.decomposed) return say(card.reason);
    const { el } = sweepd;
    box.replaceChildren(
      el("p", { id: "variance-sentence", class: "variance-sentence" }, card.sentence),
      el("figure", { class: "variance-figure", style: "margin: 0.5rem 0; max-width: 760px; overflow-x: auto" }, chart(card)),
      el("p", { class: "muted small", id: "variance-method" }, card.method),
      el("p", { class: "muted small", id: "variance-design" }, card.design),
      ...card.notes.map((n) => el("p", { class: "muted small variance-note" }, n)));
  }

  document.addEventListener("sweepd:comparison", (event) => {
    try {
      show(event.detail);
    } catch (error) {
      say("The decomposition could not be drawn: " + error.message, "error");
    }
  });
})();
