// Live NASOVCF result beside a form marked data-live-score. No scoring rule lives here: the values
// typed so far are sent (debounced) to POST /api/score/, and its answer is shown in its own words
// (each item's `display` and points; a refused value with the API's message). A field not yet
// filled shows as "incomplete", never as zero points. Without JavaScript the form still scores on
// submit.
(function () {
  "use strict";
  var form = document.querySelector("form[data-live-score]");
  var panel = document.querySelector("[data-live-result]");
  if (!form || !panel || !window.fetch) { return; }
  panel.classList.remove("d-none");

  // Django's JavaScript catalogue (djangojs), loaded by base.html before this script; English without it.
  var gettext = window.gettext || function (msgid) { return msgid; };
  var ngettext = window.ngettext || function (singular, plural, n) { return n === 1 ? singular : plural; };
  var interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\(\w+\)s/g, function (match) { return String(obj[match.slice(2, -2)]); });
  };

  var HEIGHTS = ["fractured_anterior", "fractured_posterior", "cranial_anterior", "cranial_posterior",
                 "caudal_anterior", "caudal_posterior"];
  // Which request fields each component of the answer depends on.
  var FIELDS = {
    fracture_type: ["fracture_type"],
    vertebral_height_loss: ["vhl_percent", "heights_mm"]
      .concat(HEIGHTS.map(function (h) { return "heights_mm." + h; }))
      .concat(["second_vhl_percent", "second_heights_mm"])
      .concat(HEIGHTS.map(function (h) { return "second_heights_mm." + h; })),
    kyphosis_angle: ["kyphosis_angle_deg", "second_kyphosis_angle_deg"],
    t2_signal: ["t2_signal"],
    bmd: ["bmd_t_score"]
  };
  var timer = null;
  var sequence = 0;

  function field(name) { return form.elements.namedItem(name); }

  function value(name) {
    var element = field(name);
    if (!element) { return ""; }
    if (element instanceof RadioNodeList) { return element.value || ""; }
    return (element.value || "").trim();
  }

  function number(text) {
    // Sent as typed when it is not a number, so the API names the field ("check value").
    var parsed = Number(text);
    return text !== "" && isFinite(parsed) ? parsed : text;
  }

  function age() {
    var typed = value("age_years");
    if (typed !== "") { return number(typed); }
    var born = form.dataset.patientBorn;
    var on = value("assessment_date");
    if (!born || !on) { return null; }
    var b = born.split("-").map(Number);
    var d = on.split("-").map(Number);
    if (d.length !== 3 || d.some(isNaN)) { return null; }
    var years = d[0] - b[0];
    if (d[1] < b[1] || (d[1] === b[1] && d[2] < b[2])) { years -= 1; }
    return years;
  }

  function payload() {
    var body = {};
    ["fracture_type", "t2_signal", "level"].forEach(function (name) {
      if (value(name) !== "") { body[name] = value(name); }
    });
    ["kyphosis_angle_deg", "bmd_t_score"].forEach(function (name) {
      if (value(name) !== "") { body[name] = number(value(name)); }
    });
    // Both sent when both are typed, so the API's "not both" says what Save would say.
    if (value("vhl_percent") !== "") { body.vhl_percent = number(value("vhl_percent")); }
    var heights = {};
    var any = false;
    HEIGHTS.forEach(function (h) {
      if (value(h + "_mm") !== "") { heights[h] = number(value(h + "_mm")); any = true; }
    });
    if (any) { body.heights_mm = heights; }
    // A second reader's values, where the form has them: the API scores the readers' mean, as a save does.
    ["second_vhl_percent", "second_kyphosis_angle_deg"].forEach(function (name) {
      if (value(name) !== "") { body[name] = number(value(name)); }
    });
    var second = {};
    var anySecond = false;
    HEIGHTS.forEach(function (h) {
      if (value("second_" + h + "_mm") !== "") { second[h] = number(value("second_" + h + "_mm")); anySecond = true; }
    });
    if (anySecond) { body.second_heights_mm = second; }
    var trauma = value("low_energy_trauma");
    if (trauma === "yes" || trauma === "true") { body.low_energy_trauma = true; }
    if (trauma === "no" || trauma === "false") { body.low_energy_trauma = false; }
    var years = age();
    if (years !== null && years !== "") { body.age_years = years; }
    return body;
  }

  function csrfToken() {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function setText(selector, text) {
    var node = panel.querySelector(selector);
    if (node) { node.textContent = text; }
  }

  // The server draws each group's badge (templates/scoring/_risk_badge.html) into a <template>: the
  // live result shows a copy of the one for the answer's group, so its markup and words are the pages'.
  var badges = panel.querySelector("template[data-live-badges]");

  function showGroup(group) {
    var holder = panel.querySelector("[data-live-group]");
    holder.textContent = "";
    if (!group || !badges) { return; }
    var badge = Array.prototype.find.call(badges.content.children, function (candidate) {
      return candidate.classList.contains("risk-" + group);
    });
    if (badge) { holder.appendChild(badge.cloneNode(true)); }
  }

  function showWarnings(warnings) {
    var list = panel.querySelector("[data-live-warnings]");
    list.textContent = "";
    (warnings || []).forEach(function (warning) {
      var item = document.createElement("li");
      item.textContent = warning.message;
      list.appendChild(item);
    });
  }

  function secondReaderTyped() {
    return Array.prototype.some.call(form.elements, function (element) {
      return element.name && element.name.indexOf("second_") === 0 && element.name !== "second_reader_name" &&
        (element.value || "").trim() !== "";
    });
  }

  // The API names a height "heights_mm.cranial_anterior"; the page's own label says which one it is.
  function fieldLabel(apiName) {
    var parts = apiName.split(".");
    var prefix = parts[0] === "second_heights_mm" ? "second_" : "";
    var element = parts.length === 2 ? field(prefix + parts[1] + "_mm")
      : (apiName.indexOf("second_") === 0 ? field(apiName) : null);
    var label = element && element.labels && element.labels[0];
    return label ? label.textContent.trim() : "";
  }

  function cells(row, value, points) {
    row.querySelector("[data-live-value]").textContent = value;
    row.querySelector("[data-live-points]").textContent = points;
  }

  function pointsText(points) {
    return interpolate(ngettext("%(n)s point", "%(n)s points", points), {n: points}, true);
  }

  function showReaderNote() {
    setText("[data-live-reader-note]", secondReaderTyped()
      ? gettext("With the second reader: the mean of the two readers (not rounded) is scored, as it will be saved.")
      : "");
  }

  function unavailable(reason) {
    setText("[data-live-summary] [data-testid=live-total]", gettext("unavailable"));
    showGroup(null);
    showWarnings([]);
    panel.querySelectorAll("[data-live-component]").forEach(function (row) { cells(row, "—", "—"); });
    setText("[data-live-note]", reason);
  }

  // The first message the API gave for a field of this item that was sent, with the height named.
  function refusal(names, errors, sent) {
    for (var i = 0; i < names.length; i += 1) {
      var name = names[i];
      if (errors[name] && name.split(".")[0] in sent) {
        var label = fieldLabel(name);
        return label ? interpolate(gettext("%(label)s: %(message)s"), {label: label, message: errors[name][0]}, true)
          : errors[name][0];
      }
    }
    return "";
  }

  function render(status, answer, sent) {
    var components = panel.querySelectorAll("[data-live-component]");
    showReaderNote();
    if (status === 401 || status === 403) {
      unavailable(gettext("Signed out: the live result stopped. Save what you typed after signing in again."));
      return;
    }
    if (status === 200) {
      setText("[data-live-summary] [data-testid=live-total]", String(answer.total));
      showGroup(answer.group);
      components.forEach(function (row) {
        var part = answer.components[row.dataset.liveComponent];
        cells(row, part.display, pointsText(part.points));
        row.classList.remove("live-refused");
      });
      showWarnings(answer.warnings);
      setText("[data-live-note]", "");
      return;
    }
    var errors = (answer && answer.errors) || {};
    setText("[data-live-summary] [data-testid=live-total]", gettext("incomplete"));
    showGroup(null);
    showWarnings([]);
    components.forEach(function (row) {
      var names = FIELDS[row.dataset.liveComponent];
      var message = refusal(names, errors, sent);
      var wrong = names.some(function (name) { return errors[name]; });
      var given = names.some(function (name) { return name.split(".")[0] in sent; });
      cells(row, message || (wrong || !given ? gettext("incomplete") : gettext("entered")), "—");
      row.classList.toggle("live-refused", message !== "");
    });
    var other = (errors.__all__ || []).concat(errors.age_years
      ? [interpolate(gettext("Age: %(message)s"), {message: errors.age_years[0]}, true)] : []);
    setText("[data-live-note]", other.length ? other.join(" ")
      : gettext("The total appears when every item is filled in and valid."));
  }

  // Below desktop width the panel is a bar stuck to the bottom of the window (app.css): the page
  // keeps that much room below a field it scrolls to, so the bar never covers the field typed into.
  // At desktop width it is stuck to the top: what the page jumps to (#carry-over) lands below it.
  function keepRoomForBar() {
    var style = window.getComputedStyle(panel);
    var bar = style.position === "sticky" && style.bottom !== "auto";
    var root = document.documentElement.style;
    root.setProperty("--live-bar-height", bar ? panel.offsetHeight + "px" : "0px");
    root.setProperty("--live-panel-height", panel.offsetHeight + "px");
  }

  function update() {
    var sent = payload();
    var mine = ++sequence;
    fetch(form.dataset.apiUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: JSON.stringify(sent)
    }).then(function (response) {
      return response.json().then(function (answer) { return [response.status, answer]; });
    }).then(function (result) {
      if (mine === sequence) { render(result[0], result[1], sent); }  // only the newest answer counts
    }).catch(function () {
      if (mine === sequence) {
        unavailable(gettext("The live result is unavailable; the form still scores when you submit it."));
      }
    });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(update, 350);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  if (window.ResizeObserver) { new ResizeObserver(keepRoomForBar).observe(panel); }
  window.addEventListener("resize", keepRoomForBar);
  keepRoomForBar();
  update();
})();
