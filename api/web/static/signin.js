/* Sign-in pages. After signing in: keep the session's CSRF token in this origin's storage (no
   other port of this host can read or set it; a cookie it could) and go on. On the form: a
   visitor who arrived from another site's link (the SameSite=Strict cookie stays behind on
   such a navigation) but is signed in, in this browser, goes straight on. */
"use strict";

(async () => {
  const done = document.getElementById("signed-in");
  if (done) {
    try {
      localStorage.setItem("sweepd-csrf", done.dataset.csrf);
    } catch (_) {
      // No storage: the page can show data but not act; the link below still goes on.
    }
    location.replace(done.dataset.next || "/");
    return;
  }
  const form = document.getElementById("signin-form");
  if (!form || document.getElementById("signin-error")) return; // a refusal is to be read
  try {
    const response = await fetch("/web-api/session", { credentials: "same-origin",
      headers: { "X-Sweepd-CSRF": localStorage.getItem("sweepd-csrf") || "" } });
    const session = await response.json();
    if (session.signed_in && session.bound) location.replace(form.dataset.next || "/");
  } catch (_) {
    // Offline or the service is restarting: the form is there to use.
  }
})();
