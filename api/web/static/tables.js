/* The sweep page's words and tables: the verdict, per initializer, the trial table. */
"use strict";

const tables = (() => {
  const { el, fmt } = sweepd;
  const PAGE = 50;
  const FAILURES = [["failed", "failed", "ended without a result"], ["diverged", "diverged", "diverged"],
    ["symmetry_never_broken", "symmetric", "never broke symmetry: its hidden units stay identical"],
    ["dead_units", "dead units", "with dead hidden units"], ["stuck_at_chance", "at chance", "stuck at chance"]];

  function table(head, body, numeric, id) {
    return el("table", { class: "table", id: id || null },
      el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { class: numeric.includes(i) ? "num" : null }, h)))),
      el("tbody", {}, body));
  }

  function dot(color) {
    return el("i", { class: "dot", style: `background:${color}` });
  }

  const TIER_WORDS = { best: "best", equivalent: "equivalent", undecided: "undecided", worse: "worse",
    failed: "failed" };
  const KINDS = { same_solution: "same solution", equally_good_solutions: "equally good solutions",
    some_seeds_worse: "some seeds worse", cannot_tell_yet: "cannot tell yet",
    nothing_to_compare: "nothing to compare" };
  const SHOWN_POINTS = 4; // grid points shown open in the verdict card; the others folded

  const escapeRe = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const capital = (text) => (text ? text[0].toUpperCase() + text.slice(1) : text);

  /* A group's display label, as the server spells it (api.web.figures.group_label). */
  const groupLabel = (initializer, point) => (point ? `${initializer} [${point}]` : initializer);

  /* A value of the ranked metric: shares (accuracies) as percentages, anything else as is. */
  function metricValue(choice, value) {
    if (value === null || value === undefined) return "—";
    return choice.metric.includes("accuracy") ? `${(100 * value).toFixed(2)} %` : fmt(value);
  }

  /* The point's text without the parts the card shows on their own (the tiers' sentence, the
     warning, the seeds), the recommendation in bold. A part not found verbatim stays. */
  function lead(point) {
    const choice = point.which_initializer;
    let text = point.text || "";
    const cut = (pattern) => { text = text.replace(pattern, " "); };
    if (choice.sentence) cut(new RegExp(escapeRe(choice.sentence)));
    if (choice.warnings.length) {
      cut(new RegExp("Warning: " + escapeRe(choice.warnings[0]) + "(?: \\(and \\d+ more warnings?\\))?\\.?"));
    }
    if (point.more_seeds.sentence) cut(new RegExp(escapeRe(point.more_seeds.sentence)));
    text = text.replace(/\s+/g, " ").trim();
    const rec = choice.recommendation;
    const at = rec ? text.indexOf(rec) : -1;
    if (!rec) return [text];
    if (at < 0) return [text, text ? " " : "", el("strong", { class: "recommendation" }, rec)];
    return [text.slice(0, at), el("strong", { class: "recommendation" }, rec), text.slice(at + rec.length)];
  }

  function kindBadge(kind) {
    return el("span", { class: "kind kind-" + kind }, KINDS[kind] || kind.replace(/_/g, " "));
  }

  /* The tiers as chips: best and equivalent, undecided, worse, failed with its reasons. */
  function tierList(point, pointLabel, colorOf) {
    const choice = point.which_initializer;
    const chip = (r) => el("span", {
      class: `chip tier-chip tier-${r.tier}` + (choice.recommended.includes(r.initializer) ? " recommended" : ""),
      title: `${TIER_WORDS[r.tier] || r.tier}: ${r.reason}`, "data-initializer": r.initializer,
      "data-tier": r.tier },
    dot(colorOf(groupLabel(r.initializer, pointLabel))), r.initializer,
    r.tier === "best" ? el("span", { class: "tier-mark", title: "the highest value" }, " ★") : null,
    choice.recommended.includes(r.initializer) ? el("span", { class: "tier-mark" }, " ✓") : null);
    const of = (...tiers) => choice.ranking.filter((r) => tiers.includes(r.tier));
    const lines = [];
    const good = of("best", "equivalent");
    if (good.length) lines.push(["Best and equivalent", "good", good.map(chip)]);
    if (of("undecided").length) lines.push(["Undecided", "undecided", of("undecided").map(chip)]);
    if (of("worse").length) lines.push(["Worse", "worse", of("worse").map(chip)]);
    const failed = of("failed");
    if (failed.length) {
      const reasons = new Map();
      for (const r of failed) reasons.set(r.reason, [...(reasons.get(r.reason) || []), r]);
      lines.push(["Failed", "failed", [...reasons].map(([reason, rows]) =>
        el("div", { class: "failed-line" }, rows.map(chip), el("span", { class: "muted small" }, reason)))]);
    }
    if (!lines.length) return null;
    return el("dl", { class: "tiers" }, lines.flatMap(([term, kind, content]) => [
      el("dt", { class: "tier-term tier-term-" + kind }, term), el("dd", { "data-tiers": kind }, content)]));
  }

  /* Per initializer in words, the evidence about the weights, and how it was decided. */
  function details(point) {
    const choice = point.which_initializer;
    const pct = (v) => metricValue(choice, v);
    const lines = choice.ranking.map((r) => {
      const parts = [`IQM ${pct(r.iqm)} [${pct(r.ci_low)}, ${pct(r.ci_high)}] over ${r.n} seeds`,
        `worst ${pct(r.worst)}`];
      if (r.n_outliers) parts.push(`${r.n_outliers} outlier seed${r.n_outliers > 1 ? "s" : ""}`);
      if (r.n_failed) parts.push(`${r.n_failed} failed run${r.n_failed > 1 ? "s" : ""}`);
      if (r.effective_units) parts.push(`${r.effective_units} effective units`);
      if (r.still_moving) parts.push("still moving");
      if (r.p_best_beats !== null && r.p_best_beats !== undefined) {
        parts.push(`P(best beats it) ${fmt(r.p_best_beats, 2)}` +
          (r.p_holm !== null && r.p_holm !== undefined ? `, Holm p ${fmt(r.p_holm, 2)}` : ""));
      }
      return el("li", {}, el("span", { class: "strong" }, r.initializer), ` — ${TIER_WORDS[r.tier] || r.tier}: ${r.reason}. `,
        el("span", { class: "muted" }, parts.join(" · ")));
    });
    const evidence = point.is_it_ok.evidence;
    const num = (v, d) => el("td", { class: "num" }, v === null || v === undefined ? "—" : fmt(v, d || 2));
    const share = (v) => el("td", { class: "num" }, v === null || v === undefined ? "—" : `${(100 * v).toFixed(1)} %`);
    const table = evidence.length ? el("div", { class: "table-wrap" }, el("table", { class: "table table-compact" },
      el("thead", {}, el("tr", {}, ["Initializer", "Converged", "Alignment removes", "Aligned distance",
        "Solutions", "Disagreement", "Noise floor", "Aligned barrier", "CKA", "Outliers"].map((h, i) =>
        el("th", { class: i ? "num" : null }, h)))),
      el("tbody", {}, evidence.map((e) => el("tr", {},
        el("td", {}, e.initializer), el("td", { class: "num" }, `${e.n_converged} / ${e.n_runs}`),
        share(e.alignment_removes), num(e.mean_aligned_relative), num(e.n_solutions, 3),
        share(e.disagreement), share(e.noise_floor), num(e.barrier_aligned),
        num(e.cka), el("td", { class: "num" }, String(e.outliers.length))))))) : null;
    const needed = point.more_seeds.needed.map((n) => el("li", {},
      `${n.initializer_a} vs ${n.initializer_b} (${n.decision}, ${n.test}): ${n.needed} seeds each, ${n.have} now`,
      n.command ? [" — ", el("code", {}, n.command)] : null));
    return el("details", { class: "verdict-details" },
      el("summary", {}, "Each initializer in words, the evidence, the method"),
      el("ul", { class: "summary" }, lines),
      table ? el("h4", {}, "Why the weights differ") : null, table,
      needed.length ? el("h4", {}, "Seeds to decide the open comparisons") : null,
      needed.length ? el("ul", { class: "summary" }, needed) : null,
      el("p", { class: "muted small" }, `Ranked on ${choice.metric} (${choice.larger_is_better ? "larger" : "smaller"} is better). ` +
        // The ROPE's reason may begin with its width ("±0.67 pp: the binomial …"): said once.
        (choice.rope_reason.startsWith("±") ? `Practically equivalent within ${choice.rope_reason}. `
          : `Practically equivalent within ±${metricValue(choice, choice.rope).replace(" %", " pp")}: ${choice.rope_reason}. `) +
        `${capital(choice.method)}. ${capital(choice.design)}: ${choice.design_reason}.`));
  }

  /* One grid point's verdict (the whole sweep's without a grid). */
  function verdictPoint(point, pointLabel, colorOf, grid) {
    const choice = point.which_initializer;
    const kind = point.is_it_ok.kind;
    const words = (KINDS[kind] || kind).toLowerCase();
    // Without a grid the badge leads the text, unless the text already starts with its words.
    const badge = !grid && !(point.text || "").toLowerCase().startsWith(words);
    const body = [
      grid ? el("h3", {}, "At ", el("span", { class: "mono" }, pointLabel), " ", kindBadge(kind)) : null,
      el("p", { class: "verdict-text" }, badge ? [kindBadge(kind), " "] : null, lead(point)),
      tierList(point, pointLabel, colorOf),
      choice.warnings.length ? el("ul", { class: "warnings" }, choice.warnings.map((w) => el("li", {}, capital(w)))) : null,
      point.more_seeds.sentence ? el("p", { class: "more-seeds" }, el("span", { class: "strong" }, "More seeds: "),
        point.more_seeds.sentence) : null,
      details(point)];
    return el("article", { class: "verdict-point", "data-point": pointLabel }, body);
  }

  /* The verdict card: per grid point, the answer, the tiers, the warnings and the seeds. */
  function verdict(box, note, data, colorOf) {
    const c = data && data.comparison;
    note.hidden = !(c && (c.partial || (c.verdict && c.verdict.partial)));
    if (!note.hidden) {
      note.textContent = `Partial: ${c.n_finished} of ${c.n_total} trials have finished; the verdict covers those and may change.`;
    }
    if (!c) return sweepd.message(box, "No trial has finished yet: the verdict, the comparison and its plots appear as soon as one has.");
    if (!c.verdict || !c.verdict.points.length) return sweepd.message(box, "This comparison has no verdict.");
    const points = c.verdict.points;
    const grid = points.length > 1 || Boolean(data.point_labels[0]);
    const cards = points.map((p, i) => verdictPoint(p, data.point_labels[i] || "", colorOf, grid));
    const folded = cards.splice(SHOWN_POINTS);
    if (folded.length) {
      cards.push(el("details", { class: "verdict-more" }, el("summary", {}, `${folded.length} more grid points`), folded));
    }
    // A running sweep's verdict is drawn again as trials finish: what the reader opened stays open.
    const opened = [...box.querySelectorAll("details")].map((d) => d.open);
    box.replaceChildren(...cards);
    box.querySelectorAll("details").forEach((d, i) => { d.open = Boolean(opened[i]); });
  }

  function meanCi(s) {
    if (!s || s.mean === null) return "—";
    if (s.ci_low === null || s.ci_high === null) return fmt(s.mean, 3);
    return el("span", { title: `${fmt(s.mean)}, 95 % CI [${fmt(s.ci_low)}, ${fmt(s.ci_high)}]` },
      `${fmt(s.mean, 3)} ± ${fmt((s.ci_high - s.ci_low) / 2, 1)}`);
  }

  function iqmCi(s) {
    if (!s || s.iqm === null || s.iqm === undefined) return "—";
    if (s.iqm_ci_low === null || s.iqm_ci_high === null) return fmt(s.iqm);
    return `${fmt(s.iqm)} [${fmt(s.iqm_ci_low, 3)}, ${fmt(s.iqm_ci_high, 3)}]`;
  }

  function failures(f) {
    const found = FAILURES.filter(([key]) => f[key]);
    if (!found.length) return el("span", { class: "muted" }, "none");
    return el("span", { title: found.map(([key, , long]) => `${f[key]} ${long}`).join("; ") },
      found.map(([key, words]) => `${f[key]} ${words}`).join(", "));
  }

  /* The distinct solutions of a group: their number, a bar of their sizes. */
  function solutionSizes(s, color) {
    const bar = el("span", { class: "sizes", title: s.clusters.map((c) => c.size).join(" + ") },
      s.clusters.map((c, k) => el("span", { style:
        `width:${(100 * c.size / Math.max(s.n_trials, 1)).toFixed(2)}%;background:${color};` +
        `opacity:${Math.max(1 - k * 0.18, 0.25)}` })));
    // The count is the verdict's: distinct solutions among converged runs, told from a clear gap
    // in the aligned distances; the bar shows the clusters at the display tolerance.
    const counted = s.distinct !== null && s.distinct !== undefined;
    const why = counted ? `${s.distinct} distinct (aligned distance within ≤ ${fmt(s.largest_within, 2)}, ` +
      `between ≥ ${fmt(s.smallest_between, 2)})` : (s.n_converged < 2 ? "cannot be counted yet: the runs still move"
      : "no clear groups in the aligned distances");
    return el("span", { class: "solution-cell", title: why },
      el("span", { class: "strong" }, counted ? String(s.distinct) : "–"), bar);
  }

  /* Per initializer, in `order` (group indices, the verdict's ranking): the tier, the ranked
     metric (IQM and range), the cost, failures, and the distinct solutions with a trial each. */
  function groups(box, data, order, accuracyKey, colorOf, trialUrl) {
    const c = data.comparison;
    const metric = c.groups.some((g) => g.stats[c.ranked_metric]) ? c.ranked_metric : accuracyKey;
    // "Finished" only while some group has trials without a result.
    const unfinished = c.groups.some((g) => g.n_finished < g.n_trials);
    const head = ["Initializer", "Tier", unfinished ? "Finished" : null, "IQM [95 % CI]", "Range", "Train cost",
      "Failures", "Solutions", "Raw → aligned", "A trial each"].filter(Boolean);
    const body = order.map((i) => {
      const g = c.groups[i], label = data.labels[i], place = data.places[i], s = g.solutions;
      const acc = g.stats[metric];
      const reps = s ? s.clusters.slice(0, 3).map((k) => el("a", { href: trialUrl(k.representative_trial_id),
        title: `a solution shared by ${k.size} trial(s)` }, "#" + k.representative_trial_id)) : [];
      return el("tr", { "data-group": label, "data-tier": place ? place.tier : null },
        el("td", {}, dot(colorOf(label)), g.initializer,
          label !== g.initializer ? el("div", { class: "muted small point" }, label.slice(g.initializer.length + 1)) : null),
        el("td", {}, place ? el("span", { class: "chip tier-chip tier-" + place.tier, title: place.reason }, place.tier)
          : el("span", { class: "muted" }, "—")),
        unfinished ? el("td", { class: "num" }, `${g.n_finished} / ${g.n_trials}`) : null,
        el("td", { class: "num" }, iqmCi(acc)),
        el("td", { class: "num" }, acc && acc.min !== null ? `${fmt(acc.min, 3)} – ${fmt(acc.max, 3)}` : "—"),
        el("td", { class: "num" }, meanCi(g.stats.train_cost_tail)),
        el("td", { class: "failures" }, failures(g.failures)),
        el("td", {}, s ? solutionSizes(s, colorOf(label)) : el("span", { class: "muted" }, "no finite weights")),
        el("td", { class: "num" }, !s || s.mean_raw_relative === null ? "—"
          : `${fmt(s.mean_raw_relative, 2)} → ${fmt(s.mean_aligned_relative, 2)}`),
        el("td", { class: "reps" }, reps.flatMap((a, k) => (k ? [" ", a] : [a])),
          s && s.clusters.length > 3 ? el("span", { class: "muted" }, " …") : null));
    });
    const numeric = ["IQM [95 % CI]", "Range", "Train cost", "Raw → aligned", "Finished"].map((h) => head.indexOf(h));
    box.replaceChildren(table(head, body, numeric, "groups"));
    return metric;
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

  return { verdict, groups, groupLabel, trialTable };
})();
