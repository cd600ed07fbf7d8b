/* The trial page: its cost curve, its decision boundary and the replay button. */
"use strict";

(() => {
  const root = document.getElementById("trial");
  const sweepId = root.dataset.sweepId;
  const trialId = root.dataset.trialId;
  const $ = (name) => document.getElementById(name);
  const { el, fmt } = sweepd;

  async function loadCurve() {
    const div = $("plot-curve");
    if (!div) return;
    try {
      const trial = await sweepd.getJSON(`/web-api/sweeps/${sweepId}/trials/${trialId}`);
      const curve = trial.result ? trial.result.curve : [];
      if (!curve.length) return sweepd.message(div, "No cost curve was stored.");
      await plots.curve(div, curve, Number(root.dataset.curveEvery));
    } catch (error) {
      sweepd.message(div, "The curve could not be loaded: " + error.message, "error");
    }
  }

  async function loadBoundary() {
    const div = $("plot-boundary");
    if (!div || root.dataset.twoD !== "true") return;
    try {
      const data = await sweepd.getJSON(`/web-api/sweeps/${sweepId}/boundary?trial=${trialId}`);
      await plots.boundaries(div, data.panels, [""]);
    } catch (error) {
      sweepd.message(div, "The boundary could not be drawn: " + error.message, "error");
    }
  }

  function outcome(result) {
    const same = result.matches;
    return el("div", { class: "replay-outcome", id: "replay-outcome", "data-matches": String(same) },
      el("p", { class: same ? "alert alert-ok" : "alert alert-error" }, same
        ? "Bitwise identical: the replayed weights have the same sha256."
        : `Different: the largest weight difference is ${fmt(result.max_abs_diff, 3)}.`),
      el("dl", { class: "spec compact" },
        el("dt", {}, "stored"), el("dd", { class: "mono" }, result.stored_sha256),
        el("dt", {}, "replayed"), el("dd", { class: "mono" }, result.replayed_sha256),
        el("dt", {}, "ran on"), el("dd", {}, `${result.node} (${result.device})`),
        ...Object.keys(result.environment || {}).filter((k) =>
          JSON.stringify(result.environment[k]) !== JSON.stringify((result.stored_environment || {})[k]))
          .flatMap((k) => [el("dt", {}, k), el("dd", { class: "mono" },
            `${(result.stored_environment || {})[k]} → ${result.environment[k]}`)])));
  }

  function wireReplay() {
    const button = $("replay-button");
    if (!button) return;
    button.addEventListener("click", async () => {
      button.disabled = true;
      button.textContent = "Training again…";
      const box = $("replay-result");
      box.replaceChildren();
      try {
        box.replaceChildren(outcome(await sweepd.postJSON(
          `/web-api/sweeps/${sweepId}/trials/${trialId}/replay`)));
      } catch (error) {
        box.replaceChildren(el("p", { class: "alert alert-error" }, "Replay failed: " + error.message));
      } finally {
        button.disabled = false;
        button.textContent = "Replay again";
      }
    });
  }

  wireReplay();
  Promise.all([loadCurve(), loadBoundary()]).then(() => { sweepd.markReady(); });
})();
