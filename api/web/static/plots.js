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
  const UNIT_COLORS = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
    "#999999", "#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3"];
  const STRIP_MAX = 150; // trials per group drawn one by one in the accuracy plot

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

  /* Costs span decades: a log axis when every value is positive, with ticks at round values
     written out in full (plotly's own minor log ticks read as a bare "5" or "2"). */
  function logAxis(values) {
    const finite = values.filter((v) => v !== null && Number.isFinite(v));
    if (!finite.length || finite.some((v) => v <= 0)) return { type: "linear" };
    const lo = finite.reduce((a, b) => Math.min(a, b)), hi = finite.reduce((a, b) => Math.max(a, b));
    let ticks = [];
    for (const steps of [[1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
      ticks = [];
      for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
        for (const m of steps) {
          const v = m * 10 ** e;
          if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(Number(v.toPrecision(2)));
        }
      }
      if (ticks.length >= 3) break;
    }
    return { type: "log", tickvals: ticks, ticktext: ticks.map((v) => String(v)) };
  }

  /* plotly.js loads asynchronously (4.8 MB to compile on a first visit): the page's words and
     tables do not wait for it, only its plots do. */
  const loaded = new Promise((resolve, reject) => {
    if (window.Plotly) return resolve();
    const script = document.getElementById("plotly-script");
    script.addEventListener("load", () => resolve());
    script.addEventListener("error", () => reject(new Error("plotly.js could not be loaded")));
  });

  async function draw(div, traces, lay) {
    await loaded;
    // A message may have replaced an earlier plot's elements: start that div afresh.
    if (div._fullLayout && !div.querySelector(".plot-container")) Plotly.purge(div);
    // A figure of a set height gives its div that height too: on a window resize plotly.js
    // forgets the layout's height and fills the div instead, which would otherwise shrink to
    // its CSS minimum and cut the figure off.
    div.style.height = lay && lay.height ? `${Math.round(lay.height)}px` : "";
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
  function shareRange(values) {
    const lo = values.reduce((a, b) => Math.min(a, b)), hi = values.reduce((a, b) => Math.max(a, b));
    const pad = Math.max((hi - lo) * 0.08, 0.01);
    return [Math.max(lo - pad, -0.02), Math.min(hi + pad, 1.02)];
  }

  // The verdict's tiers as the accuracy plot's panels, top to bottom; best and equivalent share
  // one. Failed initializers get a panel with their own scale, so that a constant predictor at
  // 50 % does not squash the working ones into a line.
  const PANELS = [["good", "Best and equivalent"], ["undecided", "Undecided"], ["worse", "Worse"],
    ["none", ""], ["failed", "Failed (own scale)"]];
  const panelOf = (tier) => (tier === "best" || tier === "equivalent" ? "good" : tier || "none");
  /* A group's label for an axis: grid axes by their last name ("[learning_rate=0.1]" for
     "[training.learning_rate=0.1]"), cut to `n` characters (the hover names it in full). */
  const short = (text, n) => {
    const brief = text.replace(/\[(.*)\]$/, (_, point) => `[${point.replace(/[\w.]*\.(\w+)=/g, "$1=")}]`);
    return brief.length > n ? brief.slice(0, n - 1) + "…" : brief;
  };

  /* Accuracy (or any share) per group over seeds, one row per group: a box with every trial as
     a point; a group of more than STRIP_MAX trials is drawn as a violin (its points would hide
     each other). Rows are grouped into the verdict's tiers (`tierOf`: group → tier or null). */
  function strip(div, rows, key, groups, colorOf, sweepId, title, tierOf) {
    const values = new Map(groups.map((g) => [g, rows.filter((r) => r.group === g && r[key] !== null)]));
    const shown = groups.filter((g) => values.get(g).length);
    const panels = PANELS.map(([name, heading]) => ({ name, heading,
      groups: shown.filter((g) => panelOf(tierOf ? tierOf(g) : null) === name) })).filter((p) => p.groups.length);
    const split = panels.length > 1 && panels.some((p) => p.name === "failed");
    const narrow = (div.clientWidth || 1000) < 440;
    const rowPx = shown.length > 8 ? 24 : 34, titlePx = panels.length > 1 ? 22 : 6, tickPx = split ? 30 : 0;
    const plotPx = panels.reduce((sum, p) => sum + titlePx + p.groups.length * rowPx, 0) + tickPx;
    const margin = { l: 16, r: 16, t: 6, b: 44 };
    const lay = { showlegend: false, height: Math.max(plotPx + margin.t + margin.b, 240), margin, annotations: [] };
    const plotH = lay.height - margin.t - margin.b;
    const traces = [];
    const mainValues = [], failedValues = [];
    let y = 0; // pixels from the top of the plotting area
    panels.forEach((panel, i) => {
      const own = split && panel.name === "failed";
      if (own) y += tickPx;
      const top = y + titlePx, bottom = top + panel.groups.length * rowPx;
      const suffix = i ? String(i + 1) : "";
      const xName = own ? "x2" : "x";
      lay["yaxis" + suffix] = axis("", { domain: [Math.max(1 - bottom / plotH, 0), Math.min(1 - top / plotH, 1)],
        anchor: xName, type: "category", categoryorder: "array", categoryarray: panel.groups,
        tickvals: panel.groups, ticktext: panel.groups.map((g) => short(g, narrow ? 20 : 36)),
        autorange: "reversed", showgrid: false, fixedrange: true, ticks: "", tickfont: { size: narrow ? 11 : 12 } });
      if (panel.heading && panels.length > 1) {
        lay.annotations.push({ text: `<b>${panel.heading}</b>`, x: 0, y: 1 - y / plotH, xref: "paper", yref: "paper",
          xanchor: "left", yanchor: "top", showarrow: false, font: { size: 11, color: "#5d6675" } });
      }
      for (const group of panel.groups) {
        const members = values.get(group);
        const c = colorOf(group);
        (own ? failedValues : mainValues).push(...members.map((r) => r[key]));
        const common = { name: group, orientation: "h", x: members.map((r) => r[key]), y: members.map(() => group),
          xaxis: xName, yaxis: "y" + suffix, customdata: members.map((r) => r.id),
          text: members.map((r) => "seed " + r.seed), line: { color: c, width: 1.5 }, fillcolor: alpha(c, 0.12),
          marker: { color: c, size: 6, opacity: 0.75 },
          hovertemplate: `trial %{customdata} · %{text}<br>${title} %{x:.4f}<extra>${group}</extra>` };
        if (members.length > STRIP_MAX) {
          traces.push({ ...common, type: "violin", points: "outliers", box: { visible: true },
            meanline: { visible: true }, spanmode: "hard", hoveron: "points+kde", side: "both" });
        } else {
          traces.push({ ...common, type: "box", boxpoints: "all", jitter: 0.5, pointpos: 0, hoveron: "points" });
        }
      }
      y = bottom;
    });
    // The working tiers share one x axis, drawn under the last of them; the failed one its own.
    const lastMain = panels.reduce((last, p, i) => (split && p.name === "failed" ? last : i), 0);
    lay.xaxis = axis(split ? "" : title, { anchor: "y" + (lastMain ? lastMain + 1 : ""),
      range: shareRange(mainValues.length ? mainValues : failedValues) });
    if (split) {
      const failedAt = panels.findIndex((p) => p.name === "failed");
      lay.xaxis2 = axis(title, { anchor: "y" + (failedAt + 1), range: shareRange(failedValues) });
    }
    return draw(div, traces, lay).then(() => linkPoints(div, sweepId));
  }

  const TIER_LEGEND = { best: "Best and equivalent", equivalent: "Best and equivalent", undecided: "Undecided",
    worse: "Worse", failed: "Failed" };

  /* Mean cost curve per group, with the 10th–90th percentile band of the seeds. The legend
     lists the groups in `order`, under their tier's heading (`tierOf`), beside the plot on a
     wide screen and under it on a narrow one: it never covers a curve. */
  function bands(div, curves, colorOf, order, tierOf) {
    const rank = new Map((order || []).map((g, i) => [g, i]));
    const at = (c) => (rank.has(c.group) ? rank.get(c.group) : Infinity);
    const sorted = [...curves].sort((a, b) => (at(a) === at(b) ? 0 : at(a) < at(b) ? -1 : 1));
    // Beside the plot while that leaves it room; under it on a phone, one entry after another.
    const narrow = (div.clientWidth || 1000) < 440;
    const traces = [];
    const titled = new Set();
    for (const curve of sorted) {
      const c = colorOf(curve.group);
      const tier = tierOf ? tierOf(curve.group) : null;
      const legendgroup = tier && !narrow ? TIER_LEGEND[tier] || tier : curve.group;
      // The band as one closed outline: along the upper edge, back along the lower one.
      const kept = curve.steps.map((_, i) => i).filter((i) => curve.low[i] !== null && curve.high[i] !== null);
      const back = [...kept].reverse();
      traces.push({ x: [...kept, ...back].map((i) => curve.steps[i]),
        y: [...kept.map((i) => curve.high[i]), ...back.map((i) => curve.low[i])],
        mode: "lines", fill: "toself", fillcolor: alpha(c, 0.16), line: { width: 0, color: c },
        hoverinfo: "skip", showlegend: false, legendgroup });
      const line = { x: curve.steps, y: curve.mean, mode: "lines", connectgaps: false,
        name: `${curve.group} (${curve.n})`, legendgroup, line: { color: c, width: 2 },
        hovertemplate: `step %{x}<br>mean cost %{y:.4g}<extra>${curve.group}</extra>` };
      if (tier && !narrow && !titled.has(legendgroup)) {
        titled.add(legendgroup);
        line.legendgrouptitle = { text: legendgroup, font: { size: 11 } };
      }
      traces.push(line);
    }
    const entries = sorted.length + titled.size;
    // The figure is made tall enough for its whole legend: no scroll bar in the legend.
    const legendPx = 20 * entries + 8 * titled.size + 10;
    const plotPx = 280, below = 60; // below: the step axis' numbers and title
    const legend = { orientation: "v", font: { size: 11 }, groupclick: "toggleitem",
      tracegroupgap: narrow ? 0 : 6, maxheight: legendPx + 40,
      ...(narrow ? { x: 0, xanchor: "left", y: -below / plotPx, yanchor: "top" }
        : { x: 1.02, xanchor: "left", y: 1, yanchor: "top" }) };
    const height = narrow ? 16 + plotPx + below + legendPx : Math.max(340, legendPx + 60);
    return draw(div, traces, { xaxis: axis("step"), height, legend,
      yaxis: axis("training cost", logAxis(curves.flatMap((c) => [...c.low, ...c.high, ...c.mean]))),
      margin: { l: 60, r: 16, t: 16, b: narrow ? height - 16 - plotPx : 44 } }).then(() => pairLegend(div));
  }

  /* A legend click hides or shows a group's mean line together with its band (the trace just
     before it), not the whole tier. */
  function pairLegend(div) {
    if (div.dataset.paired) return;
    div.dataset.paired = "true";
    div.on("plotly_legendclick", (event) => {
      const i = event.curveNumber;
      const visible = event.fullData[i].visible === "legendonly" ? true : "legendonly";
      Plotly.restyle(div, { visible: [visible, visible === true ? true : false] }, [i, i - 1]);
      return false;
    });
    div.on("plotly_legenddoubleclick", () => false);
  }

  /* Every first-layer hidden unit as a point: raw (left) and canonical (right). A binned
     point (large sweeps) stands for `count` units: its area grows with the count. */
  function units(div, data, colorOf, sweepId, by) {
    const size = data.binned ? 4 : data.n_units > 600 ? 4 : 6;
    const traces = [];
    for (const [name, color, pick] of unitSeries(data, colorOf, by)) {
      for (const [key, n] of [["raw", ""], ["canonical", "2"]]) {
        const p = pick(key);
        traces.push({ type: "scatter", mode: "markers", name, legendgroup: name,
          showlegend: key === "raw", xaxis: "x" + n, yaxis: "y" + n, x: p.x, y: p.y,
          marker: { color, opacity: 0.6, line: { width: 0 },
            size: data.binned ? p.count.map((c) => Math.min(size + 2 * Math.sqrt(c - 1), 18)) : size },
          customdata: p.trial_ids.map((tid, i) => [tid, p.units[i], p.count[i], p.groups[i]]),
          hovertemplate: (data.binned ? "%{customdata[2]} unit(s), e.g. " : "") +
            "trial %{customdata[0]}, unit %{customdata[1]}<br>%{customdata[3]}<br>" +
            "(%{x:.3f}, %{y:.3f})<extra></extra>" });
      }
    }
    const [ax, ay] = data.axes;
    const title = (text, x, y) => ({ text: `<b>${text}</b>`, x, y, xref: "paper", yref: "paper",
      xanchor: "center", yanchor: "bottom", showarrow: false, font: { size: 13 } });
    // Side by side on a wide screen; raw above canonical on a narrow one, laid out in pixels
    // so that the raw panel's axis title, the canonical panel's title and the legend (one
    // entry a line, under the plot) never overlap.
    const narrow = (div.clientWidth || 1000) < 600;
    if (!narrow) {
      return draw(div, traces, {
        height: 440, annotations: [title("Raw weights", 0.23, 1), title("Canonical form", 0.77, 1)],
        xaxis: axis(ax, { domain: [0, 0.46] }), yaxis: axis(ay, { domain: [0, 1] }),
        xaxis2: axis(ax, { domain: [0.54, 1], anchor: "y2" }), yaxis2: axis(ay, { anchor: "x2", domain: [0, 1] }),
        legend: { orientation: "h", y: -0.2 }, margin: { l: 60, r: 16, t: 28, b: 16 },
      }).then(() => linkPoints(div, sweepId));
    }
    const panel = 280, gap = 110, below = 60;
    const plotH = 2 * panel + gap, legendPx = 20 * (traces.length / 2) + 10;
    return draw(div, traces, {
      height: 28 + plotH + below + legendPx,
      annotations: [title("Raw weights", 0.5, 1), title("Canonical form", 0.5, panel / plotH)],
      xaxis: axis(ax, { domain: [0, 1] }), yaxis: axis(ay, { domain: [(panel + gap) / plotH, 1] }),
      xaxis2: axis(ax, { domain: [0, 1], anchor: "y2" }), yaxis2: axis(ay, { anchor: "x2", domain: [0, panel / plotH] }),
      legend: { orientation: "v", x: 0, xanchor: "left", y: -below / plotH, yanchor: "top", tracegroupgap: 0,
        maxheight: legendPx + 20 },
      margin: { l: 60, r: 16, t: 28, b: below + legendPx },
    }).then(() => linkPoints(div, sweepId));
  }

  /* The series of the units plot: one per initializer, or one per unit position (all
     initializers together), each a function of the panel ("raw" or "canonical"). */
  function unitSeries(data, colorOf, by) {
    const select = (keep) => (key) => {
      const out = { x: [], y: [], count: [], trial_ids: [], units: [], groups: [] };
      for (const g of data.groups) {
        const p = g[key];
        p.x.forEach((x, i) => {
          if (!keep(g, p.units[i])) return;
          out.x.push(x); out.y.push(p.y[i]); out.count.push(p.count[i]);
          out.trial_ids.push(p.trial_ids[i]); out.units.push(p.units[i]); out.groups.push(g.group);
        });
      }
      return out;
    };
    if (by === "group") {
      return data.groups.map((g) => [g.group, colorOf(g.group), select((h) => h === g)]);
    }
    const width = Math.max(0, ...data.groups.flatMap((g) => g.raw.units));
    return Array.from({ length: width }, (_, u) => [`unit ${u + 1}`, UNIT_COLORS[u % UNIT_COLORS.length],
      select((_, unit) => unit === u + 1)]);
  }

  /* P(row beats column) of one grid point, coloured from red (0) through white to blue (1). */
  function heat(div, map) {
    const n = map.initializers.length;
    // Cells shrink with many initializers; their numbers show where they fit (else on hover).
    const cellPx = n <= 6 ? 46 : n <= 10 ? 34 : 26;
    // Never narrower than ~18 px a column: on a phone a large matrix scrolls inside its card.
    div.style.minWidth = `${220 + 18 * n}px`;
    const fits = (Math.max(div.clientWidth || 600, 220 + 18 * n) - 220) / n >= 30;
    const text = map.p.map((row) => row.map((v) => (v === null || !fits ? "" : v.toFixed(2))));
    const custom = map.p.map((row, i) => row.map((_, j) => [
      map.low[i][j] === null ? "?" : map.low[i][j].toFixed(2),
      map.high[i][j] === null ? "?" : map.high[i][j].toFixed(2), map.n_pairs[i][j] || 0]));
    const trace = { type: "heatmap", z: map.p, x: map.initializers, y: map.initializers,
      zmin: 0, zmax: 1, xgap: 2, ygap: 2, text, texttemplate: "%{text}", customdata: custom,
      textfont: { size: n > 10 ? 10 : 12 },
      colorscale: [[0, "#b2182b"], [0.5, "#f7f7f7"], [1, "#2166ac"]],
      colorbar: { title: { text: "P" }, thickness: 12, len: 0.9 },
      hovertemplate: "P(%{y} beats %{x}) = %{z:.2f}<br>95 % CI [%{customdata[0]}, %{customdata[1]}]" +
        " over %{customdata[2]} seeds<extra></extra>" };
    return draw(div, [trace], {
      height: 150 + cellPx * n, margin: { l: 16, r: 16, t: map.point ? 36 : 16, b: 16 },
      title: map.point ? { text: map.point, font: { size: 13 } } : undefined,
      xaxis: axis("", { side: "bottom", gridcolor: "rgba(0,0,0,0)", tickfont: { size: n > 10 ? 10 : 12 } }),
      yaxis: axis("", { autorange: "reversed", gridcolor: "rgba(0,0,0,0)", tickfont: { size: n > 10 ? 10 : 12 } }),
      plot_bgcolor: "rgba(0,0,0,0)" });
  }

  /* The predicted classes as a picture: one pixel per grid cell, stretched over the plane by
     the browser. Cheaper than a heatmap trace, and the boundary is all it has to show. */
  function classImage(panel, k) {
    const rows = panel.z.length, cols = panel.z[0].length;
    const canvas = document.createElement("canvas");
    canvas.width = cols;
    canvas.height = rows;
    const context = canvas.getContext("2d");
    const pixels = context.createImageData(cols, rows);
    const rgb = CLASS_COLORS.map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
    for (let r = 0; r < rows; r++) {
      const row = panel.z[rows - 1 - r]; // the image's first row is the plane's top
      for (let c = 0; c < cols; c++) {
        const [red, green, blue] = rgb[row[c] % Math.min(k, rgb.length)];
        pixels.data.set([red, green, blue, 72], 4 * (r * cols + c));
      }
    }
    context.putImageData(pixels, 0, 0);
    return canvas.toDataURL("image/png");
  }

  /* One panel on axes `n`: training points as traces, the predicted classes as an image. */
  function boundaryPanel(panel, n) {
    const k = Math.max(panel.points.n_classes, 2);
    const suffix = n > 1 ? n : "";
    const axes = { xaxis: "x" + suffix, yaxis: "y" + suffix };
    const traces = [];
    for (let c = 0; c < k; c++) {
      const idx = panel.points.label.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
      traces.push({ type: "scatter", mode: "markers", name: "class " + c, ...axes,
        x: idx.map((i) => panel.points.x[i]), y: idx.map((i) => panel.points.y[i]),
        marker: { color: CLASS_COLORS[c % CLASS_COLORS.length], size: 5, line: { width: 0.5, color: "#fff" } },
        hovertemplate: `class ${c} (%{x:.2f}, %{y:.2f})<extra></extra>` });
    }
    const step = (v) => (v[v.length - 1] - v[0]) / Math.max(v.length - 1, 1);
    const image = panel.z && { source: classImage(panel, k), xref: "x" + suffix, yref: "y" + suffix,
      x: panel.x[0] - step(panel.x) / 2, y: panel.y[panel.y.length - 1] + step(panel.y) / 2,
      sizex: step(panel.x) * panel.x.length, sizey: step(panel.y) * panel.y.length,
      sizing: "stretch", layer: "below", xanchor: "left", yanchor: "top" };
    return { traces, image };
  }

  /* Decision boundaries side by side, in one figure (one layout pass for all panels). Each
     row is as tall as the data's aspect asks, so the plane keeps its true shape. */
  function boundaries(div, panels, titles) {
    const width = div.clientWidth || 1000;
    const columns = Math.max(1, Math.min(panels.length, Math.floor(width / 260)));
    const rows = Math.ceil(panels.length / columns);
    const gap = 0.05, margin = { l: 36, r: 8, t: 40, b: 28 };
    const cell = (1 - gap * (columns - 1)) / columns;
    const span = (values) => values[values.length - 1] - values[0];
    const aspect = span(panels[0].y) / Math.max(span(panels[0].x), 1e-9);
    const rowPx = Math.min(Math.max(cell * (width - margin.l - margin.r) * aspect, 160), 420);
    const rowGap = 60; // pixels between rows: the axis numbers above, a title of two lines
    const height = rows * rowPx + (rows - 1) * rowGap + margin.t + margin.b;
    const plotHeight = height - margin.t - margin.b;
    const lay = { showlegend: false, height, margin, annotations: [], images: [],
      plot_bgcolor: "rgba(0,0,0,0)" };
    const traces = [];
    panels.forEach((panel, i) => {
      const n = i + 1, suffix = n > 1 ? n : "";
      const x0 = (i % columns) * (cell + gap);
      const top = 1 - (Math.floor(i / columns) * (rowPx + rowGap)) / plotHeight;
      const drawn = boundaryPanel(panel, n);
      traces.push(...drawn.traces);
      if (drawn.image) lay.images.push(drawn.image);
      lay["xaxis" + suffix] = axis("", { domain: [x0, x0 + cell], anchor: "y" + suffix, showgrid: false,
        zeroline: false, range: [panel.x[0], panel.x[panel.x.length - 1]] });
      lay["yaxis" + suffix] = axis("", { domain: [Math.max(top - rowPx / plotHeight, 0), top],
        anchor: "x" + suffix, showgrid: false, zeroline: false,
        range: [panel.y[0], panel.y[panel.y.length - 1]] });
      if (titles[i]) {
        lay.annotations.push({ text: titles[i], x: x0 + cell / 2, y: top, xref: "paper", yref: "paper",
          xanchor: "center", yanchor: "bottom", showarrow: false, font: { size: 11 } });
      }
    });
    return draw(div, traces, lay);
  }

  /* One trial's training cost. */
  function curve(div, values, every) {
    return draw(div, [{ x: values.map((_, i) => i * every), y: values, mode: "lines",
      line: { color: "#3358d4", width: 2 }, hovertemplate: "step %{x}<br>cost %{y:.4g}<extra></extra>" }],
    { xaxis: axis("step"), yaxis: axis("training cost", logAxis(values)),
      showlegend: false });
  }

  return { strip, bands, units, heat, boundaries, curve };
})();
