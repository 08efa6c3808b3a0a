// The running ODI beside the ten questionnaire sections of a form marked data-odi-url (assessment,
// visit). No rule lives here: the answers chosen so far are sent to POST /api/odi/, which computes
// the ODI as the form will on saving; its answer (or its message) is shown. Without JavaScript
// the form still computes the ODI on submit.
(function () {
  "use strict";
  var form = document.querySelector("form[data-odi-url]");
  if (!form || !window.fetch) { return; }
  var SECTIONS = 10;
  var names = [];
  for (var n = 1; n <= SECTIONS; n += 1) { names.push("odi_section_" + n); }
  if (!form.elements.namedItem(names[0])) { return; }
  var sequence = 0;
  // Django's JavaScript catalogue (djangojs), loaded by base.html before this script; English without it.
  var gettext = window.gettext || function (msgid) { return msgid; };
  var interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\(\w+\)s/g, function (match) { return String(obj[match.slice(2, -2)]); });
  };

  // Where the running ODI is shown: an element the layout marks data-odi-running, else one made
  // at the top of the sections' <details>.
  var output = form.querySelector("[data-odi-running]");
  if (!output) {
    var details = form.querySelector("details.odi-sections");
    if (!details) { return; }
    output = document.createElement("p");
    output.className = "odi-running small fw-semibold mt-2 mb-0";
    output.setAttribute("data-odi-running", "");
    output.setAttribute("role", "status");
    output.setAttribute("data-testid", "odi-running");
    details.querySelector("summary").insertAdjacentElement("afterend", output);
  }

  function answer(name) {
    var element = form.elements.namedItem(name);
    var value = element ? (element.value || "") : "";
    return value === "" ? null : Number(value);
  }

  function csrfToken() {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function show(status, body) {
    if (status === 200) {
      output.textContent = body.answered === 0
        ? gettext("No section answered yet.")
        : interpolate(gettext("ODI %(odi)s · %(answered)s of %(total)s answered"),
          {odi: body.odi_percent.toFixed(1) + " %", answered: body.answered, total: SECTIONS}, true);
      return;
    }
    if (status === 401 || status === 403) {
      output.textContent = gettext("Signed out: the running ODI stopped. Save what you typed after signing in again.");
      return;
    }
    var errors = (body && body.errors) || {};
    var messages = Object.keys(errors).map(function (key) { return errors[key][0]; });
    output.textContent = messages.length ? messages.join(" ") : gettext("The running ODI is unavailable.");
  }

  function update() {
    var mine = ++sequence;
    fetch(form.dataset.odiUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify({sections: names.map(answer)})
    }).then(function (response) {
      return response.json().then(function (body) { return [response.status, body]; });
    }).then(function (result) {
      if (mine === sequence) { show(result[0], result[1]); }  // only the newest answer counts
    }).catch(function () {
      if (mine === sequence) {
        output.textContent = gettext("The running ODI is unavailable; the form still computes it on saving.");
      }
    });
  }

  form.addEventListener("change", function (event) {
    if (event.target && names.indexOf(event.target.name) !== -1) { update(); }
  });
  update();
})();
