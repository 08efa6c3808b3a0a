// The import page's progress bar: asks the server how far the background work is, every second,
// and reloads the page when it is done (the preview or the result is then shown). A sign-in page
// instead of the JSON (the session ended) reloads too: the page then asks to sign in again.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box) return;
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-progress-text]");
  var url = box.getAttribute("data-progress-url");
  // Django's JavaScript catalogue (djangojs) gives these; English as it is without it.
  var gettext = window.gettext || function (message) { return message; };
  var interpolate =
    window.interpolate ||
    function (format, values) {
      return format.replace(/%\((\w+)\)s/g, function (whole, name) { return String(values[name]); });
    };

  function show(state) {
    bar.value = state.percent;
    bar.textContent = state.percent + " %";
    // Until the file is read its number of rows is not known: "0 of 0 rows" would say nothing.
    text.textContent = state.total
      ? interpolate(
          gettext("%(done)s of %(total)s rows"),
          { done: state.done.toLocaleString("en-US"), total: state.total.toLocaleString("en-US") },
          true
        )
      : gettext("reading the file");
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.redirected) {
          window.location.reload();
          return null;
        }
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (state) {
        if (state === null) return;
        if (!state.working) {
          window.location.reload();
          return;
        }
        show(state);
        window.setTimeout(poll, 1000);
      })
      .catch(function () {
        window.setTimeout(poll, 3000); // the server is busy or restarting: ask again, less often
      });
  }
  window.setTimeout(poll, 1000);
})();
