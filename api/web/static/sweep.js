/* The sweep page: live progress, the verdict and the tables first, then the plots one by one. */
"use strict";

(() => {
  const root = document.getElementById("sweep");
  const id = root.dataset.sweepId;
  const twoD = root.dataset.twoD === "true";
  const accuracyKey = root.dataset.accuracy;
  // R² for a regression target (issue 17), the accuracy otherwise.
  const [accuracySet, accuracyKind] = accuracyKey.split("_");
  const accuracyTitle = `${accuracySet} ${accuracyKind === "r2" ? "R²" : "accuracy"}`;
  const $ = (name) => document.getElementById(name);
  const REFRESH_MS = 8000; // while running: at most one recomputation of the figures per 8 s

  // One colour per group, fixed at the first load: in the verdict's order when there is one
  // (the best initializers get the first colours), else in the spec's order; never changed
  // after, so that a running sweep's colours stay put while its ranking moves.
  const specGroups = JSON.parse(root.dataset.groups);
  const colors = new Map();
  let colorsFixed = false;
  function fixColors(first) {
    if (colorsFixed) return;
    colorsFixed = true;
    for (const group of [...first, ...specGroups]) if (!colors.has(group)) colors.set(group, sweepd.color(colors.size));
  }
  const colorOf = (group) => {
    fixColors([]);
    if (!colors.has(group)) colors.set(group, sweepd.color(colors.size));
    return colors.get(group);
  };
  let tierOf = () => null; // group label → its tier in the verdict (null: none)
  const trialUrl = (tid) => `/sweeps/${id}/trials/${tid}`;
  let chosen = null; // trial ids typed into the boundary form; null: the default choice
  let lastUnits = null; // the units plot's data, redrawn when its colouring changes

  const columns = [["id", "Trial"], ["seed", "Seed"], ["group", "Initializer"], ["state", "State"],
    [accuracyKey, accuracyTitle], ["train_cost_tail", "Train cost"], ["test_cost", "Test cost"],
    ["steps", "Steps"], ["wall_seconds", "Time (s)"]];
  if (accuracySet === "test") columns.splice(5, 0, ["train_" + accuracyKind, "train " + accuracyTitle.split(" ")[1]]);
  const trialTable = tables.trialTable({ box: $("trials-table"), pager: $("trials-pager"),
    groupFilter: $("filter-group"), stateFilter: $("filter-state"), columns, colorOf, trialUrl,
    weightsUrl: (tid) => `/web-api/sweeps/${id}/trials/${tid}/weights` });

  /* A settled request's value, or show why it failed in each of `boxes` and return null. */
  function settled(result, what, boxes) {
    if (result.status === "fulfilled") return result.value;
    for (const box of boxes) sweepd.message(box, `The ${what} could not be loaded: ${result.reason.message}`, "error");
    return null;
  }

  const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

  /* Draw with `draw` when there is data, else say why not; never throws. */
  async function plot(box, ready, emptyText, draw) {
    if (!ready) return sweepd.message(box, emptyText);
    try {
      await draw();
    } catch (error) {
      sweepd.message(box, "This plot could not be drawn: " + error.message, "error");
    }
    await new Promise((resolve) => setTimeout(resolve, 0)); // let input in between plots
  }

  /* By default: the representative of each distinct solution, largest first, up to 4. */
  function defaultChoice(data) {
    if (!data || !data.comparison) return [];
    const reps = [];
    // In the verdict's order: the best initializers' solutions first, the failed ones last.
    const ordered = verdictOrder(data).map((i) => data.comparison.groups[i]);
    const depth = Math.max(0, ...ordered.map((g) => (g.solutions ? g.solutions.clusters.length : 0)));
    for (let k = 0; k < depth && reps.length < 4; k++) {
      for (const g of ordered) {
        const cluster = g.solutions && g.solutions.clusters[k];
        if (cluster && reps.length < 4) reps.push(cluster.representative_trial_id);
      }
    }
    return reps;
  }

  async function fetchBoundaries(ids) {
    if (!ids.length) return { ids, panels: [] };
    const query = ids.map((t) => "trial=" + encodeURIComponent(t)).join("&");
    return { ids, panels: (await sweepd.getJSON(`/web-api/sweeps/${id}/boundary?${query}`)).panels };
  }

  async function showBoundaries(request) {
    const box = $("plot-boundary");
    let result;
    try {
      result = await request;
    } catch (error) {
      return sweepd.message(box, "The boundaries could not be drawn: " + error.message, "error");
    }
    $("boundary-trials").value = result.ids.join(", ");
    const titles = result.panels.map((p) =>
      `${p.group}<br>#${p.trial_id} · seed ${p.seed} · acc ${sweepd.fmt(p.test_accuracy, 3)}`);
    return plot(box, result.panels.length, "No finished trial yet.",
      () => plots.boundaries(box, result.panels, titles));
  }

  /* Group indices in the verdict's order: grid point by grid point, best first; groups the
     verdict does not rank keep their place after the ranked ones. */
  function verdictOrder(data) {
    const key = (i) => (data.places[i] ? [data.places[i].point, data.places[i].rank] : [Infinity, i]);
    return data.labels.map((_, i) => i).sort((a, b) => {
      const [pa, ra] = key(a), [pb, rb] = key(b);
      return (pa === pb ? 0 : pa < pb ? -1 : 1) || ra - rb;
    });
  }

  /* The group labels in display order: the verdict's when there is one, else the spec's. */
  let groupOrder = specGroups;

  function showComparison(data) {
    if (data.comparison) {
      const order = verdictOrder(data);
      groupOrder = [...order.map((i) => data.labels[i]), ...specGroups.filter((g) => !data.labels.includes(g))];
      fixColors(groupOrder);
      const tiers = new Map(data.labels.map((label, i) => [label, data.places[i] ? data.places[i].tier : null]));
      tierOf = (group) => tiers.get(group) || null;
    }
    tables.verdict($("verdict-body"), $("partial-note"), data, colorOf);
    if (!data.comparison) return sweepd.message($("groups-table"), "No trial has finished yet.");
    const metric = tables.groups($("groups-table"), data, verdictOrder(data), accuracyKey, colorOf, trialUrl);
    $("ranked-what").textContent = `The ranked ${metric.replace(/_/g, " ").replace(/ tail$/, " (averaged over the last steps)")}`;
  }

  async function showUnits(data) {
    const notes = [];
    if (data.projected) notes.push("With more than two inputs, each unit's incoming weights are projected on the two principal axes of the canonical vectors.");
    if (data.binned) notes.push(`The ${data.n_units} units of ${data.n_trials} trials are binned: a larger point stands for more units in one spot (hover for the count).`);
    $("units-note").textContent = notes.join(" ");
    lastUnits = data;
    const rank = new Map(groupOrder.map((g, i) => [g, i]));
    const at = (g) => (rank.has(g.group) ? rank.get(g.group) : Infinity);
    const ordered = { ...data, groups: [...data.groups].sort((a, b) => (at(a) === at(b) ? 0 : at(a) < at(b) ? -1 : 1)) };
    await plot($("plot-units"), data.groups.length, "No finished trial with finite weights yet.",
      () => plots.units($("plot-units"), ordered, colorOf, id, $("units-colour").value));
  }

  /* Words and tables first (the first screen), then each plot in page order. */
  async function loadAll() {
    const requests = ["comparison", "trials", "units", "growth"].map((what) => sweepd.getJSON(`/web-api/sweeps/${id}/${what}`));
    // The boundaries' request leaves as soon as the comparison names the trials to draw.
    const boundaries = twoD ? requests[0].then((data) => fetchBoundaries(chosen || defaultChoice(data))) : null;
    const [comparison, trials, units, grown] = await Promise.allSettled(requests);
    const c = settled(comparison, "comparison", [$("verdict-body"), $("groups-table"), $("plot-heat")]);
    const t = settled(trials, "trials", [$("trials-table"), $("plot-accuracy"), $("plot-cost")]);
    const u = settled(units, "hidden units", [$("plot-units")]);
    if (c) showComparison(c);
    document.dispatchEvent(new CustomEvent("sweepd:comparison", { detail: c })); // variance.js
    const g = settled(grown, "growth", [$("growth-body")]);
    if (g) growth.show($("growth"), $("growth-body"), g, colorOf);
    if (t) trialTable.update(t.rows);
    $("trials-note").hidden = !t || t.rows.length === t.n_trials;
    if (t) $("trials-note").textContent = `This table and the accuracy plot show the first ${t.rows.length} of ${t.n_trials} trials.`;
    // Nothing to compare or draw before the first trial finishes: the verdict card says so.
    const finished = !t || t.rows.some((r) => r.state === "completed");
    $("results").hidden = !finished;
    sweepd.markFirstScreen();
    if (!finished) return;
    await nextFrame();
    if (t) {
      const present = new Set(t.rows.map((r) => r.group));
      const order = [...groupOrder, ...present].filter((g, i, all) => present.has(g) && all.indexOf(g) === i);
      await plot($("plot-accuracy"), t.rows.some((r) => r[accuracyKey] !== null), "No trial has finished yet.",
        () => plots.strip($("plot-accuracy"), t.rows, accuracyKey, order, colorOf, id, accuracyTitle, tierOf));
      await plot($("plot-cost"), t.curves.length, "No cost curves yet.",
        () => plots.bands($("plot-cost"), t.curves, colorOf, order, tierOf));
    }
    if (u) await showUnits(u);
    if (c) await showHeat(c.heat_maps);
    if (boundaries) await showBoundaries(boundaries);
  }

  async function showHeat(maps) {
    const box = $("plot-heat");
    if (!maps.length) return sweepd.message(box, "A heat map needs two initializers or more with paired seeds.");
    const current = [...box.children].filter((child) => child.classList.contains("plot"));
    if (current.length !== maps.length) {
      box.replaceChildren(...maps.map(() => sweepd.el("div", { class: "plot heat" })));
    }
    for (const [i, map] of maps.entries()) await plot(box.children[i], true, "", () => plots.heat(box.children[i], map));
  }

  let timer = null;
  let last = 0;
  let loading = Promise.resolve();
  function scheduleRefresh() {
    if (!timer) timer = setTimeout(refresh, Math.max(0, last + REFRESH_MS - Date.now()));
  }
  /* One load at a time: a refresh asked for during a load runs after it. */
  function refresh() {
    clearTimeout(timer);
    timer = null;
    last = Date.now();
    loading = loading.then(loadAll, loadAll);
    return loading;
  }

  const form = $("boundary-form");
  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      chosen = $("boundary-trials").value.split(/[\s,]+/).filter((t) => /^\d+$/.test(t)).slice(0, 6);
      showBoundaries(fetchBoundaries(chosen));
    });
  }
  $("units-colour").addEventListener("change", () => { if (lastUnits) showUnits(lastUnits); });
  sweepd.wireCancelButtons();
  sweepd.wirePauseButtons();
  setInterval(sweepd.tickDurations, 1000);
  if (!sweepd.FINAL.has(root.dataset.state)) {
    sweepd.follow(`/web-api/sweeps/${id}/events`, {
      progress: (p) => sweepd.renderProgress(id, p),
      trial: scheduleRefresh,
      end: (p) => { sweepd.renderProgress(id, p); refresh(); },
    }, $("live-note"));
  }
  refresh().then(() => sweepd.markReady());
})();
