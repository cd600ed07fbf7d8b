/* The sweep page: live progress, the comparison table and plots, and the trial table. */
"use strict";

(() => {
  const root = document.getElementById("sweep");
  const id = root.dataset.sweepId;
  const twoD = root.dataset.twoD === "true";
  const accuracyKey = root.dataset.accuracy;
  const $ = (name) => document.getElementById(name);
  const { el, fmt } = sweepd;
  const PAGE = 50;
  const REFRESH_MS = 8000; // while running: at most one recomputation of the figures per 8 s
  const FAILURES = [["failed", "failed"], ["diverged", "diverged"],
    ["symmetry_never_broken", "never broke symmetry"], ["dead_units", "with dead units"],
    ["stuck_at_chance", "stuck at chance"]];

  const state = { rows: [], curves: [], sort: { key: "id", dir: 1 }, page: 0, chosen: null };
  const groups = JSON.parse(root.dataset.groups);
  const colors = new Map(groups.map((g, i) => [g, sweepd.color(i)]));
  const colorOf = (group) => {
    if (!colors.has(group)) colors.set(group, sweepd.color(colors.size));
    return colors.get(group);
  };
  const trialUrl = (tid) => `/sweeps/${id}/trials/${tid}`;
  const accuracyTitle = accuracyKey === "test_accuracy" ? "test accuracy" : "train accuracy";

  /* -- the comparison: summary, per-initializer table, solutions, heat maps ----------------- */

  async function loadComparison() {
    try {
      const data = await sweepd.getJSON(`/web-api/sweeps/${id}/comparison`);
      renderSummary(data);
      if (!data.comparison) {
        for (const box of [$("groups-table"), $("solutions-table"), $("plot-heat")]) {
          sweepd.message(box, "No trial has finished yet.");
        }
        return null;
      }
      renderGroups(data);
      renderSolutions(data);
      await renderHeat(data.heat_maps);
      return data;
    } catch (error) {
      $("summary").replaceChildren(el("li", { class: "alert alert-error" },
        "The comparison could not be computed: " + error.message));
      return null;
    }
  }

  function renderSummary(data) {
    const lines = data.summary ? data.summary.split("\n")
      : ["No trial has finished yet: the answer appears as soon as one has."];
    $("summary").replaceChildren(...lines.map((line) => el("li", {}, line)));
    const c = data.comparison;
    const note = $("partial-note");
    note.hidden = !(c && c.partial);
    if (c && c.partial) {
      note.textContent = `Partial: ${c.n_finished} of ${c.n_total} trials have finished; the figures cover those.`;
    }
  }

  function meanCi(s) {
    if (!s || s.mean === null) return "—";
    if (s.ci_low === null || s.ci_high === null) return fmt(s.mean);
    return el("span", { title: `95 % CI [${fmt(s.ci_low)}, ${fmt(s.ci_high)}]` },
      `${fmt(s.mean)} ± ${fmt((s.ci_high - s.ci_low) / 2, 2)}`);
  }

  function failures(f) {
    const parts = FAILURES.filter(([key]) => f[key]).map(([key, words]) => `${f[key]} ${words}`);
    return parts.length ? parts.join(", ") : el("span", { class: "muted" }, "none");
  }

  function renderGroups(data) {
    const head = ["Initializer", "Finished", accuracyTitle, "Range", "Train cost (tail)", "Failures",
      "Solutions"];
    const body = data.comparison.groups.map((g, i) => {
      const acc = g.stats[accuracyKey];
      return el("tr", {},
        el("td", {}, el("i", { class: "dot", style: `background:${colorOf(data.labels[i])}` }), data.labels[i]),
        el("td", { class: "num" }, `${g.n_finished} / ${g.n_trials}`),
        el("td", { class: "num" }, meanCi(acc)),
        el("td", { class: "num" }, acc && acc.min !== null ? `${fmt(acc.min)} – ${fmt(acc.max)}` : "—"),
        el("td", { class: "num" }, meanCi(g.stats.train_cost_tail)),
        el("td", {}, failures(g.failures)),
        el("td", { class: "num" }, g.solutions ? String(g.solutions.n_solutions) : "—"));
    });
    $("groups-table").replaceChildren(table(head, body, [1, 2, 3, 4, 6]));
  }

  function renderSolutions(data) {
    const head = ["Initializer", "Trials", "Distinct solutions", "Sizes", "Raw → aligned distance",
      "Representatives"];
    const body = data.comparison.groups.map((g, i) => {
      const s = g.solutions;
      const label = data.labels[i];
      if (!s) return el("tr", {}, el("td", {}, label), el("td", { colspan: 5, class: "muted" }, "no finite weights"));
      const bar = el("span", { class: "sizes", title: s.clusters.map((c) => c.size).join(" + ") },
        s.clusters.map((c, k) => el("span", { style:
          `width:${(100 * c.size / Math.max(s.n_trials, 1)).toFixed(2)}%;background:${colorOf(label)};opacity:${Math.max(1 - k * 0.18, 0.25)}` })));
      const sizes = s.clusters.slice(0, 6).map((c) => c.size).join(" + ") + (s.clusters.length > 6 ? " + …" : "");
      const reps = s.clusters.slice(0, 5).map((c) => el("a", { href: trialUrl(c.representative_trial_id),
        title: `a solution shared by ${c.size} trial(s)` }, "#" + c.representative_trial_id));
      return el("tr", {}, el("td", {}, label), el("td", { class: "num" }, String(s.n_trials)),
        el("td", { class: "num strong" }, String(s.n_solutions)),
        el("td", {}, el("div", { class: "stack-tight" }, bar, el("span", { class: "muted small" }, sizes))),
        el("td", { class: "num" }, s.mean_raw_relative === null ? "—"
          : `${fmt(s.mean_raw_relative, 2)} → ${fmt(s.mean_aligned_relative, 2)}`),
        el("td", {}, reps.flatMap((a, k) => (k ? [" ", a] : [a]))));
    });
    $("solutions-table").replaceChildren(table(head, body, [1, 2, 4]));
  }

  async function renderHeat(maps) {
    const box = $("plot-heat");
    if (!maps.length) {
      sweepd.message(box, "A heat map needs two initializers or more with paired seeds.");
      return;
    }
    const divs = reuse(box, maps.length, "plot heat");
    await Promise.all(maps.map((map, i) => plots.heat(divs[i], map)));
  }

  /* The container's first n plot divs (kept between refreshes, so plots update in place). */
  function reuse(box, n, className) {
    const current = [...box.children].filter((c) => c.classList.contains("plot"));
    if (current.length !== n) {
      box.replaceChildren(...Array.from({ length: n }, () => el("div", { class: className })));
    }
    return [...box.children];
  }

  function table(head, body, numeric) {
    return el("table", { class: "table" },
      el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { class: numeric.includes(i) ? "num" : null }, h)))),
      el("tbody", {}, body));
  }

  /* -- trials: the strip plot, cost bands and the trial table ------------------------------ */

  async function loadTrials() {
    try {
      const data = await sweepd.getJSON(`/web-api/sweeps/${id}/trials`);
      state.rows = data.rows;
      state.curves = data.curves;
      renderFilters();
      renderTrialTable();
      const order = [...colors.keys()].filter((g) => state.rows.some((r) => r.group === g));
      const done = state.rows.filter((r) => r[accuracyKey] !== null).length;
      $("accuracy-title").textContent = accuracyTitle[0].toUpperCase() + accuracyTitle.slice(1) + " over seeds";
      await Promise.all([
        done ? plots.strip($("plot-accuracy"), state.rows, accuracyKey, order, colorOf, id, accuracyTitle)
          : sweepd.message($("plot-accuracy"), "No trial has finished yet."),
        data.curves.length ? plots.bands($("plot-cost"), data.curves, colorOf)
          : sweepd.message($("plot-cost"), "No cost curves yet."),
      ]);
    } catch (error) {
      sweepd.message($("trials-table"), "The trials could not be loaded: " + error.message, "error");
    }
  }

  function renderFilters() {
    const select = $("filter-group");
    const present = [...new Set(state.rows.map((r) => r.group))];
    if (select.options.length - 1 === present.length) return;
    select.replaceChildren(el("option", { value: "" }, "all"), ...present.map((g) => el("option", {}, g)));
  }

  const COLUMNS = [
    ["id", "Trial"], ["seed", "Seed"], ["group", "Initializer"], ["state", "State"],
    [accuracyKey, accuracyTitle], ["train_cost_tail", "Train cost"], ["test_cost", "Test cost"],
    ["steps", "Steps"], ["wall_seconds", "Time (s)"],
  ];
  if (accuracyKey === "test_accuracy") COLUMNS.splice(5, 0, ["train_accuracy", "train accuracy"]);
  const NUMERIC = new Set(["id", "seed", "test_accuracy", "train_accuracy", "train_cost_tail",
    "test_cost", "steps", "wall_seconds"]);

  function visibleRows() {
    const group = $("filter-group").value;
    const st = $("filter-state").value;
    const { key, dir } = state.sort;
    return state.rows.filter((r) => (!group || r.group === group) && (!st || r.state === st))
      .sort((a, b) => {
        const x = a[key], y = b[key];
        if (x === y) return a.id - b.id;
        if (x === null) return 1; // missing values last, whatever the direction
        if (y === null) return -1;
        return (x < y ? -1 : 1) * dir;
      });
  }

  function renderTrialTable() {
    const rows = visibleRows();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    const shown = rows.slice(state.page * PAGE, (state.page + 1) * PAGE);
    const head = el("tr", {}, COLUMNS.map(([key, label]) => {
      const sorted = state.sort.key === key ? (state.sort.dir > 0 ? " sorted-asc" : " sorted-desc") : "";
      return el("th", { class: "sortable" + (NUMERIC.has(key) ? " num" : "") + sorted, "data-sort": key,
        "aria-sort": sorted ? (state.sort.dir > 0 ? "ascending" : "descending") : null,
        onclick: () => sortBy(key) }, label);
    }), el("th", {}, "Weights"));
    const body = shown.map((r) => el("tr", { "data-trial-id": r.id }, COLUMNS.map(([key]) => cell(r, key)),
      el("td", {}, r.state === "completed"
        ? el("a", { href: `/api/v1/sweeps/${id}/trials/${r.id}/weights`, download: true }, "download") : "")));
    $("trials-table").replaceChildren(el("table", { class: "table", id: "trials" },
      el("thead", {}, head), el("tbody", {}, body)));
    renderPager(rows.length, pages);
  }

  function cell(row, key) {
    if (key === "id") return el("td", { class: "num" }, el("a", { href: trialUrl(row.id) }, "#" + row.id));
    if (key === "state") {
      return el("td", {}, el("span", { class: "badge state-" + row.state }, row.state),
        row.status === "diverged" ? el("span", { class: "muted small" }, " diverged") : null);
    }
    if (key === "group") return el("td", {}, el("i", { class: "dot", style: `background:${colorOf(row.group)}` }), row.group);
    if (key === "seed" || key === "steps") return el("td", { class: "num" }, row[key] === null ? "—" : String(row[key]));
    return el("td", { class: "num", title: row.error || null }, fmt(row[key]));
  }

  function renderPager(total, pages) {
    const first = total ? state.page * PAGE + 1 : 0;
    const last = Math.min(total, (state.page + 1) * PAGE);
    $("trials-pager").replaceChildren(
      el("button", { class: "button button-small", type: "button", disabled: state.page === 0,
        onclick: () => turn(-1) }, "← Previous"),
      el("span", { class: "muted small", id: "trials-range" }, `${first}–${last} of ${total}`),
      el("button", { class: "button button-small", type: "button", disabled: state.page >= pages - 1,
        onclick: () => turn(1) }, "Next →"));
  }

  function sortBy(key) {
    state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
    state.page = 0;
    renderTrialTable();
  }

  function turn(step) {
    state.page += step;
    renderTrialTable();
  }

  /* -- hidden units and decision boundaries ----------------------------------------------- */

  async function loadUnits() {
    try {
      const data = await sweepd.getJSON(`/web-api/sweeps/${id}/units`);
      if (!data.groups.length) {
        sweepd.message($("plot-units"), "No finished trial with finite weights yet.");
        return;
      }
      const notes = [];
      if (data.projected) notes.push("With more than two inputs, each unit's incoming weights are projected on the two principal axes of the canonical vectors.");
      if (data.n_shown < data.n_trials) notes.push(`An even sample of ${data.n_shown} of ${data.n_trials} trials is drawn.`);
      $("units-note").textContent = notes.join(" ");
      await plots.units($("plot-units"), data, colorOf, id);
    } catch (error) {
      sweepd.message($("plot-units"), "The hidden units could not be loaded: " + error.message, "error");
    }
  }

  /* By default: the representative of each distinct solution, largest first, up to 4. */
  function defaultChoice(data) {
    if (!data || !data.comparison) return [];
    const reps = [];
    const depth = Math.max(0, ...data.comparison.groups.map((g) => (g.solutions ? g.solutions.clusters.length : 0)));
    for (let k = 0; k < depth && reps.length < 4; k++) {
      for (const g of data.comparison.groups) {
        const cluster = g.solutions && g.solutions.clusters[k];
        if (cluster && reps.length < 4) reps.push(cluster.representative_trial_id);
      }
    }
    return reps;
  }

  async function loadBoundaries(ids) {
    const box = $("plot-boundary");
    if (!ids.length) {
      sweepd.message(box, "No finished trial yet.");
      return;
    }
    $("boundary-trials").value = ids.join(", ");
    try {
      const query = ids.map((t) => "trial=" + encodeURIComponent(t)).join("&");
      const data = await sweepd.getJSON(`/web-api/sweeps/${id}/boundary?${query}`);
      const divs = reuse(box, data.panels.length, "plot");
      await Promise.all(data.panels.map((p, i) => plots.boundary(divs[i], p,
        `#${p.trial_id} · ${p.group} · seed ${p.seed} · acc ${fmt(p.test_accuracy, 3)}`)));
    } catch (error) {
      sweepd.message(box, "The boundaries could not be drawn: " + error.message, "error");
    }
  }

  function wireBoundaryForm() {
    const form = $("boundary-form");
    if (!form) return;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      state.chosen = $("boundary-trials").value.split(/[\s,]+/).filter((t) => /^\d+$/.test(t)).slice(0, 6);
      loadBoundaries(state.chosen);
    });
  }

  /* -- loading and live updates ----------------------------------------------------------- */

  async function loadAll() {
    const [comparison] = await Promise.all([loadComparison(), loadTrials(), loadUnits()]);
    if (twoD) await loadBoundaries(state.chosen || defaultChoice(comparison));
  }

  let timer = null;
  let last = 0;
  function scheduleRefresh() {
    if (timer) return;
    timer = setTimeout(refresh, Math.max(0, last + REFRESH_MS - Date.now()));
  }
  function refresh() {
    clearTimeout(timer);
    timer = null;
    last = Date.now();
    return loadAll();
  }

  $("filter-group").addEventListener("change", () => { state.page = 0; renderTrialTable(); });
  $("filter-state").addEventListener("change", () => { state.page = 0; renderTrialTable(); });
  wireBoundaryForm();
  sweepd.wireCancelButtons();
  setInterval(sweepd.tickDurations, 1000);
  if (!sweepd.FINAL.has(root.dataset.state)) {
    sweepd.follow(`/api/v1/sweeps/${id}/events`, {
      progress: (p) => sweepd.renderProgress(id, p),
      trial: scheduleRefresh,
      end: (p) => { sweepd.renderProgress(id, p); refresh(); },
    }, $("live-note"));
  }
  refresh().then(() => { sweepd.markReady(); });
})();
