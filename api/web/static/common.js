/* sweepd web page: helpers shared by every page (requests, progress bars, formatting, DOM). */
"use strict";

const sweepd = (() => {
  const STATES = ["completed", "running", "pending", "failed", "cancelled"];
  const FINAL = new Set(["completed", "failed", "cancelled"]);
  // 20 categorical colours, all different, each visible on white: Okabe–Ito (colour-blind
  // friendly; its yellow darkened) first, then Paul Tol's, then lighter tints. The seed study's
  // 16 initializers never share one.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000",
    "#332288", "#999933", "#882255", "#8C564B", "#7F7F7F", "#44AA99", "#B8860B", "#AA4499", "#E31A1C",
    "#B2DF8A", "#FB9A99", "#CAB2D6", "#FDBF6F"];

  function color(i) { return PALETTE[i % PALETTE.length]; }

  function signInAgain() {
    const next = location.pathname + location.search;
    location.assign("/signin?next=" + encodeURIComponent(next));
  }

  async function problemText(response) {
    try {
      const body = await response.json();
      return body.detail || body.title || ("HTTP " + response.status);
    } catch (_) {
      return "HTTP " + response.status;
    }
  }

  /* The session's CSRF token, kept by signin.js in this origin's storage (see api/web/auth.py). */
  function csrfToken() {
    try {
      return localStorage.getItem("sweepd-csrf") || "";
    } catch (_) {
      return "";
    }
  }

  async function request(url, options) {
    const response = await fetch(url, Object.assign({
      credentials: "same-origin", headers: { Accept: "application/json", "X-Sweepd-CSRF": csrfToken() },
    }, options || {}));
    if (response.status === 401) {
      signInAgain();
      throw new Error("signed out");
    }
    if (!response.ok) throw new Error(await problemText(response));
    return response.json();
  }

  const getJSON = (url) => request(url);
  const postJSON = (url) => request(url, { method: "POST" });

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fmt(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "—";
    const number = Number(value);
    if (number === 0 || Number.isInteger(number)) return String(number);
    return number.toPrecision(digits || 4);
  }

  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    if (seconds < 60) return seconds.toFixed(1) + " s";
    let minutes = Math.floor(Math.round(seconds) / 60);
    const secs = Math.round(seconds) % 60;
    if (minutes < 60) return minutes + " min " + String(secs).padStart(2, "0") + " s";
    const hours = Math.floor(minutes / 60);
    minutes %= 60;
    return hours + " h " + String(minutes).padStart(2, "0") + " min";
  }

  /* Times are rendered in UTC by the server; show them in the reader's zone. */
  function localTimes(root) {
    for (const node of (root || document).querySelectorAll("time[datetime]")) {
      const moment = new Date(node.getAttribute("datetime"));
      if (Number.isNaN(moment.getTime())) continue;
      node.title = moment.toISOString();
      node.textContent = moment.toLocaleString(undefined, {
        year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    }
  }

  /* Progress bar and counts of one sweep, from a SweepProgress-like object. */
  function renderProgress(id, data) {
    const n = Math.max(data.n_trials, 1);
    const c = data.counts;
    const final = (c.completed || 0) + (c.failed || 0) + (c.cancelled || 0);
    const widths = { completed: c.completed / n, failed: c.failed / n, cancelled: c.cancelled / n,
      running: Math.max(data.progress - final / n, 0) };
    const paused = data.state === "paused";
    for (const bar of document.querySelectorAll(`[data-progress-for="${id}"]`)) {
      bar.classList.toggle("paused", paused);
      bar.setAttribute("aria-valuenow", (data.progress * 100).toFixed(1));
      for (const [state, share] of Object.entries(widths)) {
        const seg = bar.querySelector(".seg-" + state);
        if (seg) seg.style.width = (100 * (share || 0)).toFixed(3) + "%";
      }
    }
    for (const box of document.querySelectorAll(`[data-counts-for="${id}"]`)) {
      box.replaceChildren(el("span", { class: "percent" }, Math.round(data.progress * 100) + " %"),
        ...STATES.filter((s) => c[s]).map((s) =>
          el("span", { class: "count" }, el("i", { class: "dot dot-" + s }), `${c[s]} ${s}`)));
    }
    for (const badge of document.querySelectorAll(`[data-state-for="${id}"]`)) {
      badge.className = "badge state-" + data.state;
      badge.textContent = data.state;
    }
    for (const node of document.querySelectorAll(`[data-pause="${id}"], [data-paused-for="${id}"]`)) {
      node.hidden = node.hasAttribute("data-pause") ? paused : !paused;
    }
    for (const button of document.querySelectorAll(`[data-resume="${id}"]`)) button.hidden = !paused;
    if (FINAL.has(data.state)) {
      for (const button of document.querySelectorAll(
        `[data-cancel="${id}"], [data-pause="${id}"], [data-resume="${id}"]`)) button.remove();
      const finished = data.finished_at || new Date().toISOString();
      for (const d of document.querySelectorAll(`[data-duration-for="${id}"]`)) {
        if (!d.dataset.finished) d.dataset.finished = finished;
      }
      tickDurations();
    }
  }

  function tickDurations() {
    for (const node of document.querySelectorAll("[data-duration-for]")) {
      const start = Date.parse(node.dataset.created);
      const end = node.dataset.finished ? Date.parse(node.dataset.finished) : Date.now();
      node.textContent = fmtDuration(Math.max(0, (end - start) / 1000));
    }
  }

  /* A cancel button asks once more before it acts (no modal dialog). */
  function wireCancelButtons(onDone) {
    for (const button of document.querySelectorAll("[data-cancel]")) {
      const label = button.textContent;
      let timer = null;
      button.addEventListener("click", async () => {
        if (!button.classList.contains("confirming")) {
          button.classList.add("confirming");
          button.textContent = "Confirm cancel";
          timer = setTimeout(() => { button.classList.remove("confirming"); button.textContent = label; }, 4000);
          return;
        }
        clearTimeout(timer);
        button.disabled = true;
        button.textContent = "Cancelling…";
        try {
          const sweep = await postJSON(`/web-api/sweeps/${button.dataset.cancel}/cancel`);
          renderProgress(sweep.id, sweep);
          if (onDone) onDone(sweep);
        } catch (error) {
          button.disabled = false;
          button.textContent = label;
          button.classList.remove("confirming");
          button.title = "Could not cancel: " + error.message;
        }
      });
    }
  }

  /* Pause and resume buttons act at once (both are undone by the other); the page then shows
     the state the service answered with. */
  function wirePauseButtons() {
    for (const [attr, action] of [["data-pause", "pause"], ["data-resume", "resume"]]) {
      for (const button of document.querySelectorAll(`[${attr}]`)) {
        button.addEventListener("click", async () => {
          button.disabled = true;
          try {
            const sweep = await postJSON(`/web-api/sweeps/${button.getAttribute(attr)}/${action}`);
            renderProgress(sweep.id, sweep);
            button.title = "";
          } catch (error) {
            button.title = `Could not ${action}: ` + error.message;
          } finally {
            button.disabled = false;
          }
        });
      }
    }
  }

  /* Follow an event stream; closes itself on `end` so the browser does not reconnect. */
  function follow(url, handlers, note) {
    const source = new EventSource(url, { withCredentials: true });
    for (const [name, handler] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => handler(JSON.parse(event.data || "{}")));
    }
    source.addEventListener("end", () => source.close());
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED && note) {
        note.hidden = false;
        note.textContent = "Live updates stopped; reload the page to resume them.";
      }
    });
    return source;
  }

  function message(container, text, kind) {
    container.style.height = ""; // a plot's height (plots.js) does not outlive the plot
    container.replaceChildren(el("p", { class: kind === "error" ? "alert alert-error" : "plot-empty" }, text));
  }

  /* The words and tables are in (the plots follow): for bench/page_speed.py. */
  function markFirstScreen() {
    if (!document.body.dataset.firstMs) document.body.dataset.firstMs = String(Math.round(performance.now()));
  }

  /* Everything the page draws at load is drawn: for tests and bench/page_speed.py. */
  function markReady() {
    document.body.dataset.readyMs = String(Math.round(performance.now()));
    document.body.dataset.ready = "true";
  }

  /* A session this page did not start (its cookie was set by another server on this host, which
     cookies do not tell apart from this one) is ended at once: the visitor signs in again. */
  async function checkSession() {
    try {
      const session = await getJSON("/web-api/session");
      if (!session.signed_in || session.bound) return;
      await fetch("/signout", { method: "POST", credentials: "same-origin", redirect: "manual" });
      const next = location.pathname + location.search;
      location.replace("/signin?foreign=true&next=" + encodeURIComponent(next));
    } catch (_) {
      // Offline or restarting: the page's own requests will say so.
    }
  }

  localTimes();
  checkSession();
  return { markReady, markFirstScreen, STATES, FINAL, color, el, fmt, fmtDuration, getJSON, postJSON, renderProgress,
    tickDurations, wireCancelButtons, wirePauseButtons, follow, message, localTimes };
})();
