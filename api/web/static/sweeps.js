/* The sweeps list: live progress of every unfinished sweep on the page, over one stream. */
"use strict";

(() => {
  const rows = [...document.querySelectorAll("tr[data-sweep-id]")];
  const live = rows.filter((row) => !sweepd.FINAL.has(row.dataset.state))
    .map((row) => row.dataset.sweepId);
  sweepd.wireCancelButtons();
  if (live.length) {
    const note = document.getElementById("live-note");
    sweepd.follow(`/web-api/sweeps/live?ids=${live.join(",")}`, {
      progress: (data) => sweepd.renderProgress(data.sweep_id, data),
    }, note);
  }
  setInterval(sweepd.tickDurations, 1000);
})();
