/* The sign-in form: a visitor who arrived from another site's link (the SameSite=Strict cookie
   stays behind on such a navigation) but is signed in goes straight on to the page they wanted. */
"use strict";

(async () => {
  const form = document.getElementById("signin-form");
  try {
    const response = await fetch("/web-api/session", { credentials: "same-origin" });
    const session = await response.json();
    if (session.signed_in) location.replace(form.dataset.next || "/");
  } catch (_) {
    // Offline or the service is restarting: the form is there to use.
  }
})();
