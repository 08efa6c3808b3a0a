// Sign-out warning: the server signs a person out after data-idle-seconds without a request, and
// at data-session-ends-at (epoch seconds) whatever the activity. Two minutes before the sooner of
// the two, say so (unsaved input would be lost) and offer to stay signed in where that helps; at
// the end, say that the session has ended so nobody keeps typing into a dead form.
(function () {
  "use strict";
  // Django's JavaScript catalogue (base.html loads it first); English as written without it.
  var gettext = window.gettext || function (message) { return message; };
  var body = document.body;
  var idle = parseInt(body.dataset.idleSeconds || "0", 10);
  var banner = document.getElementById("session-warning");
  if (!idle || !banner) { return; }
  var endsAt = parseInt(body.dataset.sessionEndsAt || "0", 10);
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
    var left = idle;
    if (endsAt) {
      var untilEnd = endsAt - Math.floor(Date.now() / 1000);
      if (untilEnd < left) {
        left = Math.max(0, untilEnd);
        stay.classList.add("d-none");  // staying active does not extend the absolute lifetime
      }
    }
    warnTimer = setTimeout(function () { banner.classList.remove("d-none"); }, Math.max(0, left - warnBefore) * 1000);
    endTimer = setTimeout(function () {
      message.textContent = gettext("Your session has ended (after a spell without activity, or at its 12-hour limit). Anything on this page that you did not save was not saved: copy it before you leave, then sign in again.");
      stay.textContent = gettext("Sign in again");
      stay.classList.remove("d-none");
      stay.onclick = function () { window.location.href = body.dataset.loginUrl + "?next=" + encodeURIComponent(window.location.pathname); };
      banner.classList.remove("d-none");
    }, left * 1000);
  }

  stay.addEventListener("click", function () {
    fetch(body.dataset.keepaliveUrl, {method: "POST", headers: {"X-CSRFToken": csrfToken()}, credentials: "same-origin"})
      .then(function (response) { if (response.ok) { schedule(); } });
  });
  schedule();
})();
