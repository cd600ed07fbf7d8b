/* sweepd web page: the plots, drawn with plotly.js (served by sweepd, never from a CDN). */
"use strict";

const plots = (() => {
  const CONFIG = { displaylogo: false, responsive: true, displayModeBar: "hover",
    modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d", "sendDataToCloud"] };
  const FONT = { family: 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif',
    size: 12, color: "#1d2330" };
  const CLASS_COLORS = ["#2166ac", "#d6604d", "#1b7837", "#8073ac", "#e08214", "#35978f",
    "#c51b7d", "#4d4d4d", "#b8860b", "#5aae61"];
  const GRID = "#eceff3";

  function layout(extra) {
    return Object.assign({
      font: FONT, margin: { l: 60, r: 16, t: 16, b: 48 }, paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "#fff", hovermode: "closest", autosize: true,
      hoverlabel: { font: { family: FONT.family, size: 12 } },
    }, extra);
  }

  function axis(title, extra) {
    return Object.assign({ title: { text: title }, gridcolor: GRID, zerolinecolor: "#d5d9e0",
      automargin: true }, extra || {});
  }

  function alpha(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  }

  /* Costs span decades: a log axis labelled at 1, 2 and 5 of each decade. */
  function logAxis(positive) {
    return positive ? { type: "log", dtick: "D2" } : { type: "linear" };
  }

  function draw(div, traces, lay) {
    return Plotly.react(div, traces, layout(lay), CONFIG);
  }

  /* Clicking a point opens its trial; customdata holds the trial id (or [id, ...]). */
  function linkPoints(div, sweepId) {
    if (div.dataset.linked) return;
    div.dataset.linked = "true";
    div.on("plotly_click", (event) => {
      const point = event.points && event.points[0];
      if (!point || point.customdata === undefined) return;
      const id = Array.isArray(point.customdata) ? point.customdata[0] : point.customdata;
      location.assign(`/sweeps/${sweepId}/trials/${id}`);
    });
  }

  /* An axis range around shares (accuracies): padded, never far outside [0, 1]. */
  function shareRange(traces) {
    const values = traces.flatMap((t) => t.y);
    const lo = Math.min(...values), hi = Math.max(...values);
    const pad = Math.max((hi - lo) * 0.08, 0.01);
    return [Math.max(lo - pad, -0.02), Math.min(hi + pad, 1.02)];
  }

  /* Accuracy (or any metric) per group over seeds: a box with every trial as a point. */
  function strip(div, rows, key, groups, colorOf, sweepId, title) {
    const traces = groups.map((group) => {
      const members = rows.filter((r) => r.group === group && r[key] !== null);
      const c = colorOf(group);
      return { type: "box", name: group, y: members.map((r) => r[key]),
        customdata: members.map((r) => r.id), text: members.map((r) => "seed " + r.seed),
        boxpoints: "all", jitter: 0.55, pointpos: 0, hoveron: "points",
        marker: { color: c, size: members.length > 400 ? 4 : 6, opacity: 0.75 },
        line: { color: c, width: 1.5 }, fillcolor: alpha(c, 0.08),
        hovertemplate: `trial %{customdata} · %{text}<br>${title} %{y:.4f}<extra>${group}</extra>` };
    }).filter((t) => t.y.length);
    return draw(div, traces, { showlegend: false, yaxis: axis(title, { range: shareRange(traces) }),
      xaxis: axis("", { tickangle: groups.length > 4 ? -25 : 0 }) }).then(() => linkPoints(div, sweepId));
  }

  /* Mean cost curve per group, with the 10th–90th percentile band of the seeds. */
  function bands(div, curves, colorOf) {
    const traces = [];
    let positive = true;
    for (const curve of curves) {
      const c = colorOf(curve.group);
      for (const values of [curve.low, curve.mean]) {
        if (values.some((v) => v !== null && v <= 0)) positive = false;
      }
      const common = { x: curve.steps, mode: "lines", legendgroup: curve.group, connectgaps: false };
      traces.push({ ...common, y: curve.low, line: { width: 0, color: c }, hoverinfo: "skip", showlegend: false });
      traces.push({ ...common, y: curve.high, line: { width: 0, color: c }, fill: "tonexty",
        fillcolor: alpha(c, 0.16), hoverinfo: "skip", showlegend: false });
      traces.push({ ...common, y: curve.mean, name: `${curve.group} (${curve.n})`, line: { color: c, width: 2 },
        hovertemplate: `step %{x}<br>mean cost %{y:.4g}<extra>${curve.group}</extra>` });
    }
    return draw(div, traces, { xaxis: axis("step"),
      yaxis: axis("training cost", logAxis(positive)),
      legend: { orientation: "h", y: -0.22 }, margin: { l: 60, r: 16, t: 16, b: 16 } });
  }

  /* Every first-layer hidden unit as a point: raw (left) and canonical (right). */
  function units(div, data, colorOf, sweepId) {
    const total = data.groups.reduce((n, g) => n + g.raw.x.length, 0);
    const size = total > 3000 ? 3 : total > 600 ? 4 : 6;
    const traces = [];
    for (const g of data.groups) {
      const common = { type: "scatter", mode: "markers", legendgroup: g.group,
        marker: { color: colorOf(g.group), size, opacity: 0.65 },
        customdata: g.trial_ids.map((id, i) => [id, g.units[i]]),
        hovertemplate: `trial %{customdata[0]}, unit %{customdata[1]}<br>(%{x:.3f}, %{y:.3f})<extra>${g.group}</extra>` };
      traces.push({ ...common, name: g.group, x: g.raw.x, y: g.raw.y, xaxis: "x", yaxis: "y" });
      traces.push({ ...common, name: g.group, showlegend: false, x: g.canonical.x, y: g.canonical.y,
        xaxis: "x2", yaxis: "y2" });
    }
    const [ax, ay] = data.axes;
    const title = (text, x) => ({ text: `<b>${text}</b>`, x, y: 1.0, xref: "paper", yref: "paper",
      xanchor: "center", yanchor: "bottom", showarrow: false, font: { size: 13 } });
    return draw(div, traces, {
      xaxis: axis(ax, { domain: [0, 0.46] }), yaxis: axis(ay),
      xaxis2: axis(ax, { domain: [0.54, 1], anchor: "y2" }), yaxis2: axis(ay, { anchor: "x2" }),
      annotations: [title("Raw weights", 0.23), title("Canonical form", 0.77)],
      legend: { orientation: "h", y: -0.18 }, margin: { l: 60, r: 16, t: 28, b: 16 },
    }).then(() => linkPoints(div, sweepId));
  }

  /* P(row beats column) of one grid point, coloured from red (0) through white to blue (1). */
  function heat(div, map) {
    const n = map.initializers.length;
    const text = map.p.map((row) => row.map((v) => (v === null ? "" : v.toFixed(2))));
    const custom = map.p.map((row, i) => row.map((_, j) => [
      map.low[i][j] === null ? "?" : map.low[i][j].toFixed(2),
      map.high[i][j] === null ? "?" : map.high[i][j].toFixed(2), map.n_pairs[i][j] || 0]));
    const trace = { type: "heatmap", z: map.p, x: map.initializers, y: map.initializers,
      zmin: 0, zmax: 1, xgap: 2, ygap: 2, text, texttemplate: "%{text}", customdata: custom,
      colorscale: [[0, "#b2182b"], [0.5, "#f7f7f7"], [1, "#2166ac"]],
      colorbar: { title: { text: "P" }, thickness: 12, len: 0.9 },
      hovertemplate: "P(%{y} beats %{x}) = %{z:.2f}<br>95 % CI [%{customdata[0]}, %{customdata[1]}]" +
        " over %{customdata[2]} seeds<extra></extra>" };
    return draw(div, [trace], {
      height: 150 + 46 * n, margin: { l: 16, r: 16, t: map.point ? 36 : 16, b: 16 },
      title: map.point ? { text: map.point, font: { size: 13 } } : undefined,
      xaxis: axis("B (column)", { side: "bottom", gridcolor: "rgba(0,0,0,0)" }),
      yaxis: axis("A (row)", { autorange: "reversed", gridcolor: "rgba(0,0,0,0)" }),
      plot_bgcolor: "rgba(0,0,0,0)" });
  }

  /* A decision boundary: predicted class over the plane, training points on top. */
  function boundary(div, panel, title) {
    const k = Math.max(panel.points.n_classes, 2);
    const scale = [];
    for (let i = 0; i < k; i++) {
      const c = alpha(CLASS_COLORS[i % CLASS_COLORS.length], 0.28);
      scale.push([i / k, c], [(i + 1) / k, c]);
    }
    const traces = [];
    if (panel.z) {
      traces.push({ type: "heatmap", x: panel.x, y: panel.y, z: panel.z, zmin: -0.5, zmax: k - 0.5,
        colorscale: scale, showscale: false, hoverinfo: "skip", zsmooth: false });
    }
    for (let c = 0; c < k; c++) {
      const idx = panel.points.label.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
      traces.push({ type: "scatter", mode: "markers", name: "class " + c,
        x: idx.map((i) => panel.points.x[i]), y: idx.map((i) => panel.points.y[i]),
        marker: { color: CLASS_COLORS[c % CLASS_COLORS.length], size: 5, line: { width: 0.5, color: "#fff" } },
        hovertemplate: `class ${c} (%{x:.2f}, %{y:.2f})<extra></extra>` });
    }
    return draw(div, traces, {
      showlegend: false, margin: { l: 40, r: 12, t: title ? 40 : 12, b: 36 },
      title: title ? { text: title, font: { size: 12 } } : undefined,
      // Equal scales, shrinking the plot area rather than padding the ranges with blank space.
      xaxis: axis("x₁", { range: [panel.x[0], panel.x[panel.x.length - 1]], showgrid: false,
        zeroline: false, constrain: "domain" }),
      yaxis: axis("x₂", { range: [panel.y[0], panel.y[panel.y.length - 1]], showgrid: false,
        zeroline: false, scaleanchor: "x", constrain: "domain" }) });
  }

  /* One trial's training cost. */
  function curve(div, values, every) {
    const positive = values.every((v) => v === null || v > 0);
    return draw(div, [{ x: values.map((_, i) => i * every), y: values, mode: "lines",
      line: { color: "#3358d4", width: 2 }, hovertemplate: "step %{x}<br>cost %{y:.4g}<extra></extra>" }],
    { xaxis: axis("step"), yaxis: axis("training cost", logAxis(positive)),
      showlegend: false });
  }

  return { strip, bands, units, heat, boundary, curve };
})();
