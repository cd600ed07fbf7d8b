/* The sweep page's growth card: an adaptive sweep's "Seeds until decided" (its sentence, then a
   small table per look) and the seeds added by requests. The words come from the server
   (api/web/growth_view.py); this lays them out. */
"use strict";

const growth = (() => {
  const { el } = sweepd;
  const STATE_WORDS = { best: "best", winner: "decided", equivalent: "equivalent", undecided: "undecided",
    max_seeds: "at the cap", failed: "failed" };
  const STATE_CHIPS = { best: "tier-best", winner: "tier-best", equivalent: "tier-equivalent",
    undecided: "tier-undecided", max_seeds: "tier-undecided", failed: "tier-failed" };
  const STOP_WORDS = { decided: "stopped: decided", equivalent: "stopped: equivalent", max_seeds: "stopped at the cap" };

  const when = (at) => el("time", { datetime: at }, at);
  const numeric = (text) => el("td", { class: "num" }, text);
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

  function table(head, rows, numbers) {
    return el("div", { class: "table-wrap" }, el("table", { class: "table table-compact" },
      el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { class: numbers.includes(i) ? "num" : null }, h)))),
      el("tbody", {}, rows)));
  }

  /* One grid point of one look: a row per initializer, best first. */
  function pointTable(point, colorOf) {
    const rows = point.rows.map((row) => el("tr", { "data-state": row.state },
      el("td", {}, el("i", { class: "dot", style: `background:${colorOf(tables.groupLabel(row.initializer, point.label))}` }),
        row.initializer),
      numeric(String(row.seeds)),
      el("td", {}, el("span", { class: `chip tier-chip ${STATE_CHIPS[row.state] || ""}` }, STATE_WORDS[row.state] || row.state),
        " ", el("span", { class: "small" }, row.text)),
      numeric(row.next ? `+${row.next}` : "—")));
    return [point.label ? el("h5", {}, point.label) : null,
      table(["Initializer", "Seeds", point.best ? `Against ${point.best}` : "State", "Next block"], rows, [1, 3])];
  }

  function look(entry, colorOf) {
    const after = entry.stop ? STOP_WORDS[entry.stop] || `stopped: ${entry.stop}`
      : entry.added ? `+${entry.added} trials next` : "no block added";
    return el("div", { class: "growth-look", "data-block": entry.block },
      el("h4", {}, `Look after block ${entry.block}`, el("span", { class: "muted small" }, " · ", when(entry.at), " · ", after)),
      entry.points.flatMap((point) => pointTable(point, colorOf)));
  }

  function adaptive(data, colorOf) {
    const looks = data.looks;
    const last = looks[looks.length - 1];
    const first = last && last.points[0];
    const earlier = looks.slice(0, -1).reverse();
    return [
      last ? look(last, colorOf) : null,
      earlier.length ? el("details", { class: "growth-earlier" },
        el("summary", {}, `The ${plural(earlier.length, "earlier look")}`),
        earlier.map((entry) => look(entry, colorOf))) : null,
      first ? el("p", { class: "muted small" },
        `The difference is the median of best − other in accuracy, bounded by a confidence sequence that stays valid ` +
        `however many blocks are looked at; each pair is decided at α = ${sweepd.fmt(first.alpha, 2)} ` +
        `(the sweep's α split over grid points and pairs). Decided: the bounds lie beyond ${first.rope}; equivalent: inside it.`) : null,
    ];
  }

  function history(data) {
    const grown = data.grown;
    const rows = data.history.map((g) => el("tr", {}, el("td", {}, when(g.at)), el("td", {}, g.seeds),
      el("td", {}, g.initializers), numeric(String(g.trials))));
    return [
      el("p", { class: "growth-lead" }, `Grown from ${grown.from} to ${grown.to} trials by ${plural(grown.requests, "request")}: ` +
        "the new seeds are the same cells, with the same results, as if the sweep had asked for them at once."),
      table(["When", "Seeds added", "Initializers", "Trials"], rows, [3]),
    ];
  }

  /* Fill the card from /web-api/sweeps/{id}/growth; hide it when there is nothing to say. */
  function show(card, box, data, colorOf) {
    const requested = data.history.length > 0;
    card.hidden = !(data.adaptive || requested);
    if (card.hidden) return;
    const parts = [data.sentence ? el("p", { class: "growth-lead", id: "growth-sentence" }, data.sentence) : null,
      data.adaptive ? adaptive(data, colorOf) : [], requested ? history(data) : []];
    box.replaceChildren(...parts.flat().filter(Boolean));
    sweepd.localTimes(box);
  }

  return { show };
})();
