// Idle sign-out warning: the server signs a person out after data-idle-seconds without a request.
// Two minutes before, say so (unsaved input would be lost) and offer to stay signed in; at the
// end, say that the session has ended so nobody keeps typing into a dead form.
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.dataset.idleSeconds || "0", 10);
  var banner = document.getElementById("session-warning");
  if (!idle || !banner) { return; }
  var warnBefore = Math.min(120, Math.floor(idle / 2));
  var message = banner.querySelector("[data-session-message]");
  var stay = banner.querySelector("[data-session-stay]");
  var warnTimer, endTimer;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function schedule() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    banner.classList.add("d-none");
    warnTimer = setTimeout(function () { banner.classList.remove("d-none"); }, (idle - warnBefore) * 1000);
    endTimer = setTimeout(function () {
      message.textContent = "You have been signed out after a period without activity. Anything on this page " +
        "that you did not save was not saved: copy it before you leave, then sign in again.";
      stay.textContent = "Sign in again";
      stay.onclick = function () { window.location.href = body.dataset.loginUrl + "?next=" + encodeURIComponent(window.location.pathname); };
      banner.classList.remove("d-none");
    }, idle * 1000);
  }

  stay.addEventListener("click", function () {
    fetch(body.dataset.keepaliveUrl, {method: "POST", headers: {"X-CSRFToken": csrfToken()}, credentials: "same-origin"})
      .then(function (response) { if (response.ok) { schedule(); } });
  });
  schedule();
})();
