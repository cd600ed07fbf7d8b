/* The sweep page's words and tables: the answer, per initializer, solutions, the trial table. */
"use strict";

const tables = (() => {
  const { el, fmt } = sweepd;
  const PAGE = 50;
  const FAILURES = [["failed", "failed"], ["diverged", "diverged"],
    ["symmetry_never_broken", "never broke symmetry"], ["dead_units", "with dead units"],
    ["stuck_at_chance", "stuck at chance"]];

  function table(head, body, numeric, id) {
    return el("table", { class: "table", id: id || null },
      el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { class: numeric.includes(i) ? "num" : null }, h)))),
      el("tbody", {}, body));
  }

  function dot(color) {
    return el("i", { class: "dot", style: `background:${color}` });
  }

  /* The answer in words: one line per initializer, then the pairs and the notes. */
  function summary(list, note, data) {
    const lines = data && data.summary ? data.summary.split("\n")
      : ["No trial has finished yet: the answer appears as soon as one has."];
    list.replaceChildren(...lines.map((line) => el("li", {}, line)));
    const c = data && data.comparison;
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

  /* Per initializer: mean ± CI of the accuracy and the cost, the range, failures, solutions. */
  function groups(box, data, accuracyKey, accuracyTitle, colorOf) {
    const head = ["Initializer", "Finished", accuracyTitle, "Range", "Train cost (tail)", "Failures",
      "Solutions"];
    const body = data.comparison.groups.map((g, i) => {
      const acc = g.stats[accuracyKey];
      return el("tr", {},
        el("td", {}, dot(colorOf(data.labels[i])), data.labels[i]),
        el("td", { class: "num" }, `${g.n_finished} / ${g.n_trials}`),
        el("td", { class: "num" }, meanCi(acc)),
        el("td", { class: "num" }, acc && acc.min !== null ? `${fmt(acc.min)} – ${fmt(acc.max)}` : "—"),
        el("td", { class: "num" }, meanCi(g.stats.train_cost_tail)),
        el("td", {}, failures(g.failures)),
        el("td", { class: "num" }, g.solutions ? String(g.solutions.n_solutions) : "—"));
    });
    box.replaceChildren(table(head, body, [1, 2, 3, 4, 6], "groups"));
  }

  /* Distinct solutions per initializer: their sizes, distances, and a trial of each. */
  function solutions(box, data, colorOf, trialUrl) {
    const head = ["Initializer", "Trials", "Distinct solutions", "Sizes", "Raw → aligned distance",
      "Representatives"];
    const body = data.comparison.groups.map((g, i) => {
      const s = g.solutions;
      const label = data.labels[i];
      if (!s) return el("tr", {}, el("td", {}, label), el("td", { colspan: 5, class: "muted" }, "no finite weights"));
      const bar = el("span", { class: "sizes", title: s.clusters.map((c) => c.size).join(" + ") },
        s.clusters.map((c, k) => el("span", { style:
          `width:${(100 * c.size / Math.max(s.n_trials, 1)).toFixed(2)}%;background:${colorOf(label)};` +
          `opacity:${Math.max(1 - k * 0.18, 0.25)}` })));
      const sizes = s.clusters.slice(0, 6).map((c) => c.size).join(" + ") + (s.clusters.length > 6 ? " + …" : "");
      const reps = s.clusters.slice(0, 5).map((c) => el("a", { href: trialUrl(c.representative_trial_id),
        title: `a solution shared by ${c.size} trial(s)` }, "#" + c.representative_trial_id));
      return el("tr", {}, el("td", {}, dot(colorOf(label)), label), el("td", { class: "num" }, String(s.n_trials)),
        el("td", { class: "num strong" }, String(s.n_solutions)),
        el("td", {}, el("div", { class: "stack-tight" }, bar, el("span", { class: "muted small" }, sizes))),
        el("td", { class: "num" }, s.mean_raw_relative === null ? "—"
          : `${fmt(s.mean_raw_relative, 2)} → ${fmt(s.mean_aligned_relative, 2)}`),
        el("td", {}, reps.flatMap((a, k) => (k ? [" ", a] : [a]))));
    });
    box.replaceChildren(table(head, body, [1, 2, 4], "solutions"));
  }

  /* The trial table: filtered, sorted by any column (missing values last), paged by 50. */
  function trialTable(options) {
    const { box, pager, groupFilter, stateFilter, columns, colorOf, trialUrl, weightsUrl } = options;
    const numeric = new Set(["id", "seed", "test_accuracy", "train_accuracy", "train_cost_tail",
      "test_cost", "steps", "wall_seconds"]);
    const state = { rows: [], sort: { key: "id", dir: 1 }, page: 0 };

    function visible() {
      const group = groupFilter.value, st = stateFilter.value, { key, dir } = state.sort;
      return state.rows.filter((r) => (!group || r.group === group) && (!st || r.state === st))
        .sort((a, b) => {
          const x = a[key], y = b[key];
          if (x === y) return a.id - b.id;
          if (x === null) return 1;
          if (y === null) return -1;
          return (x < y ? -1 : 1) * dir;
        });
    }

    function cell(row, key) {
      if (key === "id") return el("td", { class: "num" }, el("a", { href: trialUrl(row.id) }, "#" + row.id));
      if (key === "state") {
        return el("td", {}, el("span", { class: "badge state-" + row.state }, row.state),
          row.status === "diverged" ? el("span", { class: "muted small" }, " diverged") : null);
      }
      if (key === "group") return el("td", {}, dot(colorOf(row.group)), row.group);
      if (key === "seed" || key === "steps") return el("td", { class: "num" }, row[key] === null ? "—" : String(row[key]));
      return el("td", { class: "num", title: row.error || null }, fmt(row[key], key === "wall_seconds" ? 3 : 4));
    }

    function render() {
      const rows = visible();
      const pages = Math.max(1, Math.ceil(rows.length / PAGE));
      state.page = Math.min(state.page, pages - 1);
      const shown = rows.slice(state.page * PAGE, (state.page + 1) * PAGE);
      const head = el("tr", {}, columns.map(([key, label]) => {
        const sorted = state.sort.key === key ? (state.sort.dir > 0 ? " sorted-asc" : " sorted-desc") : "";
        return el("th", { class: "sortable" + (numeric.has(key) ? " num" : "") + sorted, "data-sort": key,
          "aria-sort": sorted ? (state.sort.dir > 0 ? "ascending" : "descending") : null,
          onclick: () => sortBy(key) }, label);
      }), el("th", {}, "Weights"));
      const body = shown.map((r) => el("tr", { "data-trial-id": r.id }, columns.map(([key]) => cell(r, key)),
        el("td", {}, r.state === "completed" ? el("a", { href: weightsUrl(r.id), download: true }, "download") : "")));
      box.replaceChildren(el("table", { class: "table", id: "trials" }, el("thead", {}, head), el("tbody", {}, body)));
      const first = rows.length ? state.page * PAGE + 1 : 0;
      pager.replaceChildren(
        el("button", { class: "button button-small", type: "button", disabled: state.page === 0,
          onclick: () => turn(-1) }, "← Previous"),
        el("span", { class: "muted small", id: "trials-range" },
          `${first}–${Math.min(rows.length, (state.page + 1) * PAGE)} of ${rows.length}`),
        el("button", { class: "button button-small", type: "button", disabled: state.page >= pages - 1,
          onclick: () => turn(1) }, "Next →"));
    }

    function sortBy(key) {
      state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
      state.page = 0;
      render();
    }

    function turn(step) {
      state.page += step;
      render();
    }

    function update(rows) {
      state.rows = rows;
      const present = [...new Set(rows.map((r) => r.group))];
      if (groupFilter.options.length - 1 !== present.length) {
        groupFilter.replaceChildren(el("option", { value: "" }, "all"), ...present.map((g) => el("option", {}, g)));
      }
      render();
    }

    for (const filter of [groupFilter, stateFilter]) {
      filter.addEventListener("change", () => { state.page = 0; render(); });
    }
    return { update };
  }

  return { summary, groups, solutions, trialTable };
})();
