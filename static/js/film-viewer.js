// The measuring viewer for a lateral film (issue 15, spec §9): window/level, zoom and pan at full
// resolution, the twelve corners placed in a guided order (click, drag, or the arrow keys), and the
// live values. No clinical rule lives here: the points are sent (debounced, one request at a time)
// to POST /api/measure/ and every number shown is that answer's. In compare mode the readers'
// outlines are drawn read-only with a legend. Configuration: the page's json_script
// "film-viewer-config" (templates/scoring/film_measure.html, film_compare.html).
(() => {
  "use strict";
  const configNode = document.getElementById("film-viewer-config");
  const root = document.querySelector("[data-film-viewer]");
  if (!configNode || !root) { return; }
  const config = JSON.parse(configNode.textContent);
  const measuring = config.mode === "measure";
  // Django's JavaScript catalogue (base.html loads it first) gives the words in the page's language;
  // without it, the English msgids themselves.
  const gettext = window.gettext || ((message) => message);
  const interpolate = window.interpolate
    || ((format, values) => format.replace(/%\((\w+)\)s/g, (match, name) => String(values[name])));

  const SVG_NS = "http://www.w3.org/2000/svg";
  // Spec §9: a vertebra's outline runs anterior_superior → anterior_inferior → posterior_inferior →
  // posterior_superior → back to anterior_superior.
  const OUTLINE = ["anterior_superior", "anterior_inferior", "posterior_inferior", "posterior_superior"];
  // The form's own words for the six heights (scoring/forms/fields.py HEIGHT_LABELS).
  const HEIGHT_WORDS = [
    ["fractured_anterior", "a · fractured, anterior"],
    ["fractured_posterior", "b · fractured, posterior"],
    ["cranial_anterior", "c · vertebra above, anterior"],
    ["cranial_posterior", "d · vertebra above, posterior"],
    ["caudal_anterior", "e · vertebra below, anterior"],
    ["caudal_posterior", "f · vertebra below, posterior"],
  ];
  const MEASURE_DELAY_MS = 250;
  const IMAGE_DELAY_MS = 300;
  const CLICK_SLOP_PX = 5; // a press that moves further is a pan, not a placing click
  const POINT_RADIUS_PX = 5;
  const HIT_RADIUS_PX = 10;
  const ZOOM_STEP = 1.25;
  const MAX_SCALE = 32; // screen pixels per image pixel

  const svg = root.querySelector("[data-film-svg]");
  const image = root.querySelector("[data-film-image]");
  const overlay = root.querySelector("[data-film-overlay]");
  const imageStatus = root.querySelector("[data-image-status]");
  const form = document.querySelector("form[data-film-reading]");
  const pointsInput = document.getElementById("id_points");
  const useButton = document.querySelector("[data-use-values]");
  const cornerList = document.querySelector("[data-corner-list]");
  const nextNote = document.querySelector("[data-next-corner]");
  const results = document.querySelector("[data-results]");
  const resultStatus = document.querySelector("[data-result-status]");
  const errorList = document.querySelector("[data-measure-errors]");

  const corners = (config.corners || []).map((item) => ({ ...item, key: `${item.vertebra}.${item.corner}` }));
  const cornerByKey = new Map(corners.map((item) => [item.key, item]));
  const placed = new Map(); // key → {x, y} in image pixels
  let selectedKey = null; // the corner a click, drag or arrow key acts on
  let explicitSelection = false; // chosen in the list: the next click on the film re-places it

  // ---- geometry of the view -------------------------------------------------------------------
  const view = { cx: config.width / 2, cy: config.height / 2, scale: 1, fitted: false };

  function fitScale() {
    const { clientWidth, clientHeight } = svg;
    return Math.min(clientWidth / config.width, clientHeight / config.height) || 1;
  }

  function clampScale(scale) {
    return Math.min(MAX_SCALE, Math.max(fitScale() / 4, scale));
  }

  function applyView() {
    const { clientWidth, clientHeight } = svg;
    if (!clientWidth || !clientHeight) { return; }
    if (!view.fitted) { fit(); return; }
    const width = clientWidth / view.scale;
    const height = clientHeight / view.scale;
    svg.setAttribute("viewBox", `${view.cx - width / 2} ${view.cy - height / 2} ${width} ${height}`);
    svg.classList.toggle("is-magnified", view.scale >= 2);
    draw();
  }

  function fit() {
    view.fitted = true;
    view.scale = fitScale();
    view.cx = config.width / 2;
    view.cy = config.height / 2;
    applyView();
  }

  function clientToImage(clientX, clientY) {
    const point = new DOMPoint(clientX, clientY).matrixTransform(svg.getScreenCTM().inverse());
    return { x: point.x, y: point.y };
  }

  // Zooms by `factor`, keeping the image point under (clientX, clientY) where it is on screen.
  function zoomAround(factor, clientX, clientY) {
    const anchor = clientToImage(clientX, clientY);
    const rect = svg.getBoundingClientRect();
    const scale = clampScale(view.scale * factor);
    view.cx = anchor.x - (clientX - rect.left - rect.width / 2) / scale;
    view.cy = anchor.y - (clientY - rect.top - rect.height / 2) / scale;
    view.scale = scale;
    applyView();
  }

  function zoomAtCentre(factor) {
    const rect = svg.getBoundingClientRect();
    zoomAround(factor, rect.left + rect.width / 2, rect.top + rect.height / 2);
  }

  // Points are kept to 0.1 px and inside the image (spec §9 refuses a point outside it).
  function toImagePoint(x, y) {
    const round = (value) => Math.round(value * 10) / 10;
    return {
      x: round(Math.min(config.width, Math.max(0, x))),
      y: round(Math.min(config.height, Math.max(0, y))),
    };
  }

  // ---- drawing --------------------------------------------------------------------------------
  function element(name, attributes) {
    const node = document.createElementNS(SVG_NS, name);
    Object.entries(attributes).forEach(([attribute, value]) => node.setAttribute(attribute, String(value)));
    return node;
  }

  function outlinePath(pointOf, vertebra) {
    const present = OUTLINE.map((corner) => pointOf(vertebra, corner)).filter(Boolean);
    if (present.length < 2) { return null; }
    const tag = present.length === OUTLINE.length ? "polygon" : "polyline";
    return element(tag, { points: present.map((p) => `${p.x},${p.y}`).join(" "), class: "film-outline" });
  }

  function vertebraeOf(list) {
    return [...new Set(list.map((item) => item.vertebra))];
  }

  function drawMeasuring() {
    const pointOf = (vertebra, corner) => placed.get(`${vertebra}.${corner}`);
    vertebraeOf(corners).forEach((vertebra) => {
      const path = outlinePath(pointOf, vertebra);
      if (path) { overlay.appendChild(path); }
    });
    placed.forEach((point, key) => {
      const group = element("g", { class: "film-point" + (key === selectedKey ? " is-selected" : ""), "data-key": key });
      group.appendChild(element("circle", { cx: point.x, cy: point.y, r: HIT_RADIUS_PX / view.scale, class: "film-point-hit" }));
      group.appendChild(element("circle", { cx: point.x, cy: point.y, r: POINT_RADIUS_PX / view.scale, class: "film-point-dot" }));
      overlay.appendChild(group);
    });
    // Where "Place at centre" puts a point: shown while the film has the keyboard focus.
    const arm = 8 / view.scale;
    const cross = element("path", {
      d: `M${view.cx - arm} ${view.cy}H${view.cx + arm}M${view.cx} ${view.cy - arm}V${view.cy + arm}`,
      class: "film-crosshair",
    });
    overlay.appendChild(cross);
  }

  function readingPoint(points, vertebra, corner) {
    const pair = points && points[vertebra] && points[vertebra][corner];
    return Array.isArray(pair) ? { x: pair[0], y: pair[1] } : null;
  }

  function drawReadings() {
    const names = corners.length ? vertebraeOf(corners) : ["cranial", "fractured", "caudal"];
    (config.readings || []).forEach((reading) => {
      const group = element("g", { class: "film-reading", stroke: reading.colour, fill: reading.colour });
      names.forEach((vertebra) => {
        const path = outlinePath((v, c) => readingPoint(reading.points, v, c), vertebra);
        if (path) { group.appendChild(path); }
        OUTLINE.forEach((corner) => {
          const point = readingPoint(reading.points, vertebra, corner);
          if (point) { group.appendChild(element("circle", { cx: point.x, cy: point.y, r: 3 / view.scale, class: "film-reading-dot" })); }
        });
      });
      overlay.appendChild(group);
    });
  }

  function draw() {
    overlay.textContent = "";
    if (measuring) { drawMeasuring(); } else { drawReadings(); }
  }

  // ---- window / level -------------------------------------------------------------------------
  const windowState = { center: config.window.center, width: config.window.width };
  let imageTimer = null;

  function imageUrl() {
    if (windowState.center === config.window.center && windowState.width === config.window.width) {
      return config.image_url;
    }
    const url = new URL(config.image_url, window.location.href);
    url.searchParams.set("center", String(windowState.center));
    url.searchParams.set("width", String(windowState.width));
    return url.pathname + url.search;
  }

  function showImage() {
    const url = imageUrl();
    if (image.getAttribute("href") === url) { return; }
    if (imageStatus) { imageStatus.textContent = gettext("Loading the film…"); }
    image.setAttribute("href", url);
  }

  function windowControls(name) {
    return {
      range: root.querySelector(`[data-window="${name}-range"]`),
      number: root.querySelector(`[data-window="${name}"]`),
    };
  }

  function setUpWindow() {
    const span = Math.max(1, config.window.max - config.window.min);
    const limits = {
      center: [config.window.min - span / 2, config.window.max + span / 2],
      width: [1, Math.max(span * 2, config.window.width)],
    };
    ["center", "width"].forEach((name) => {
      const { range, number } = windowControls(name);
      if (!range || !number) { return; }
      [range, number].forEach((input) => {
        input.min = String(limits[name][0]);
        input.max = String(limits[name][1]);
        input.step = "any";
        input.value = String(windowState[name]);
        input.addEventListener("input", () => {
          const value = Number(input.value);
          if (input.value === "" || !Number.isFinite(value)) { return; }
          const bounded = Math.min(limits[name][1], Math.max(limits[name][0], value));
          windowState[name] = bounded;
          (input === range ? number : range).value = String(bounded);
          window.clearTimeout(imageTimer);
          imageTimer = window.setTimeout(showImage, IMAGE_DELAY_MS);
        });
      });
    });
    const reset = root.querySelector("[data-window-reset]");
    if (reset) {
      reset.addEventListener("click", () => {
        windowState.center = config.window.center;
        windowState.width = config.window.width;
        ["center", "width"].forEach((name) => {
          const { range, number } = windowControls(name);
          if (range) { range.value = String(windowState[name]); }
          if (number) { number.value = String(windowState[name]); }
        });
        window.clearTimeout(imageTimer);
        showImage();
      });
    }
    image.addEventListener("load", () => { if (imageStatus) { imageStatus.textContent = ""; } });
    image.addEventListener("error", () => {
      if (imageStatus) { imageStatus.textContent = gettext("The film could not be shown. Reload the page to try again."); }
    });
  }

  // ---- the corners ----------------------------------------------------------------------------
  function nextUnplaced() {
    return corners.find((item) => !placed.has(item.key)) || null;
  }

  function complete() {
    return corners.length > 0 && corners.every((item) => placed.has(item.key));
  }

  function pointsJson() {
    const points = {};
    corners.forEach((item) => {
      const point = placed.get(item.key);
      if (!point) { return; }
      points[item.vertebra] = points[item.vertebra] || {};
      points[item.vertebra][item.corner] = [point.x, point.y];
    });
    return points;
  }

  function describePoint(key) {
    const point = placed.get(key);
    return point
      ? interpolate(gettext("placed at x %(x)s, y %(y)s"), { x: point.x, y: point.y }, true)
      : gettext("not placed");
  }

  // Scrolls the corner list itself (never the page) so that this corner's button shows in it.
  function keepInListView(key) {
    if (!key || cornerList.scrollHeight <= cornerList.clientHeight) { return; }
    const button = cornerList.querySelector(`button[data-key="${key}"]`);
    if (!button) { return; }
    const top = button.offsetTop;
    const bottom = top + button.offsetHeight;
    if (top < cornerList.scrollTop) {
      cornerList.scrollTop = top;
    } else if (bottom > cornerList.scrollTop + cornerList.clientHeight) {
      cornerList.scrollTop = bottom - cornerList.clientHeight;
    }
  }

  function renderList() {
    if (!cornerList) { return; }
    const next = nextUnplaced();
    cornerList.querySelectorAll("button[data-key]").forEach((button) => {
      const key = button.dataset.key;
      button.setAttribute("aria-pressed", String(key === selectedKey));
      button.classList.toggle("is-next", Boolean(next && next.key === key));
      button.classList.toggle("is-placed", placed.has(key));
      button.querySelector("[data-corner-state]").textContent = describePoint(key);
      if (next && next.key === key) { button.setAttribute("aria-current", "step"); } else { button.removeAttribute("aria-current"); }
    });
    keepInListView((explicitSelection && selectedKey) || (next && next.key) || selectedKey);
    if (nextNote) {
      if (next && !(explicitSelection && selectedKey)) {
        nextNote.textContent = interpolate(gettext("Next: %(corner)s"), { corner: next.label }, true);
      } else if (explicitSelection && selectedKey) {
        nextNote.textContent = interpolate(
          gettext("Selected: %(corner)s. Click the film to place it there, or use the arrow keys."),
          { corner: cornerByKey.get(selectedKey).label },
          true,
        );
      } else {
        nextNote.textContent = gettext(
          "All twelve corners are placed. Drag a point, or pick a corner below and use the arrow keys (Shift: 10 px).",
        );
      }
    }
  }

  function buildList() {
    if (!cornerList) { return; }
    corners.forEach((item) => {
      const entry = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "corner-button";
      button.dataset.key = item.key;
      const name = document.createElement("span");
      name.className = "corner-name";
      name.textContent = item.label;
      const state = document.createElement("span");
      state.className = "corner-state";
      state.dataset.cornerState = "";
      button.append(name, " ", state);
      button.addEventListener("click", () => select(item.key, true));
      entry.appendChild(button);
      cornerList.appendChild(entry);
    });
  }

  function select(key, explicit) {
    selectedKey = key;
    explicitSelection = explicit;
    renderList();
    draw();
  }

  // A point changed: redraw, keep the form's hidden field in step, and ask for the values again.
  function changed() {
    if (pointsInput) { pointsInput.value = placed.size ? JSON.stringify(pointsJson()) : ""; }
    renderList();
    draw();
    scheduleMeasure();
  }

  // The corner a click on the film places: the one chosen in the list, else the next in order.
  function placeAt(clientX, clientY) {
    const key = explicitSelection && selectedKey ? selectedKey : (nextUnplaced() || {}).key;
    if (!key) { return; }
    const { x, y } = clientToImage(clientX, clientY);
    placed.set(key, toImagePoint(x, y));
    const next = nextUnplaced();
    selectedKey = next ? next.key : key;
    explicitSelection = false;
    changed();
  }

  function placeAtCentre() {
    const key = selectedKey || (nextUnplaced() || {}).key;
    if (!key) { return; }
    placed.set(key, toImagePoint(view.cx, view.cy));
    const next = nextUnplaced();
    selectedKey = next ? next.key : key;
    explicitSelection = false;
    changed();
  }

  function nudge(key, dx, dy) {
    const point = placed.get(key);
    if (!point) { return false; }
    placed.set(key, toImagePoint(point.x + dx, point.y + dy));
    changed();
    return true;
  }

  const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

  function onKey(event, onFilm) {
    const arrow = ARROWS[event.key];
    if (arrow && !event.altKey && !event.ctrlKey && !event.metaKey) {
      const step = event.shiftKey ? 10 : 1;
      if (measuring && selectedKey && placed.has(selectedKey)) {
        event.preventDefault();
        nudge(selectedKey, arrow[0] * step, arrow[1] * step);
      } else if (onFilm) {
        event.preventDefault();
        view.cx += (arrow[0] * step * 20) / view.scale;
        view.cy += (arrow[1] * step * 20) / view.scale;
        applyView();
      }
      return;
    }
    if (!onFilm) { return; }
    if (event.key === "+" || event.key === "=") { event.preventDefault(); zoomAtCentre(ZOOM_STEP); }
    if (event.key === "-") { event.preventDefault(); zoomAtCentre(1 / ZOOM_STEP); }
    if (event.key === "Enter" && measuring) { event.preventDefault(); placeAtCentre(); }
  }

  // ---- pointer: place, drag a point, pan, pinch -----------------------------------------------
  const pointers = new Map(); // pointerId → {x, y} on screen
  let gesture = null;

  function startPanGesture(event, moved) {
    gesture = { kind: "pan", startX: event.clientX, startY: event.clientY, cx: view.cx, cy: view.cy, moved };
  }

  function startPinch() {
    const [a, b] = [...pointers.values()];
    const midX = (a.x + b.x) / 2;
    const midY = (a.y + b.y) / 2;
    gesture = {
      kind: "pinch",
      distance: Math.hypot(a.x - b.x, a.y - b.y) || 1,
      scale: view.scale,
      anchor: clientToImage(midX, midY),
    };
  }

  function onPointerDown(event) {
    if (event.pointerType === "mouse" && event.button !== 0) { return; }
    const handle = event.target.closest && event.target.closest("[data-key]");
    svg.setPointerCapture(event.pointerId);
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    event.preventDefault();
    svg.focus({ preventScroll: true });
    if (pointers.size === 2) { startPinch(); return; }
    if (pointers.size > 2) { return; }
    if (measuring && handle) {
      const key = handle.dataset.key;
      const point = placed.get(key);
      const at = clientToImage(event.clientX, event.clientY);
      gesture = {
        kind: "point", key, offsetX: point.x - at.x, offsetY: point.y - at.y,
        startX: event.clientX, startY: event.clientY, moved: false,
      };
      return;
    }
    startPanGesture(event, false);
  }

  function onPointerMove(event) {
    if (!pointers.has(event.pointerId) || !gesture) { return; }
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (gesture.kind === "point") {
      if (!gesture.moved && Math.hypot(event.clientX - gesture.startX, event.clientY - gesture.startY) < CLICK_SLOP_PX) { return; }
      if (!gesture.moved) { gesture.moved = true; select(gesture.key, false); }
      const at = clientToImage(event.clientX, event.clientY);
      placed.set(gesture.key, toImagePoint(at.x + gesture.offsetX, at.y + gesture.offsetY));
      changed();
    } else if (gesture.kind === "pan") {
      const dx = event.clientX - gesture.startX;
      const dy = event.clientY - gesture.startY;
      if (!gesture.moved && Math.hypot(dx, dy) < CLICK_SLOP_PX) { return; }
      gesture.moved = true;
      svg.classList.add("is-panning");
      view.cx = gesture.cx - dx / view.scale;
      view.cy = gesture.cy - dy / view.scale;
      applyView();
    } else if (gesture.kind === "pinch" && pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      const rect = svg.getBoundingClientRect();
      const scale = clampScale((gesture.scale * Math.hypot(a.x - b.x, a.y - b.y)) / gesture.distance);
      view.cx = gesture.anchor.x - ((a.x + b.x) / 2 - rect.left - rect.width / 2) / scale;
      view.cy = gesture.anchor.y - ((a.y + b.y) / 2 - rect.top - rect.height / 2) / scale;
      view.scale = scale;
      applyView();
    }
  }

  function onPointerUp(event, cancelled) {
    if (!pointers.has(event.pointerId)) { return; }
    pointers.delete(event.pointerId);
    svg.classList.remove("is-panning");
    const ended = gesture;
    if (pointers.size === 1 && ended && ended.kind === "pinch") {
      // The finger left on the film pans on; lifting it places nothing.
      const [rest] = [...pointers.values()];
      startPanGesture({ clientX: rest.x, clientY: rest.y }, true);
      return;
    }
    if (pointers.size > 0) { return; }
    gesture = null;
    if (cancelled || !measuring || !ended || ended.moved) { return; }
    // A click that moved nothing places the pending corner, even on a placed point: neighbouring
    // vertebrae's corners lie a few pixels apart. With none pending, a click on a point selects it.
    const pending = (explicitSelection && selectedKey) || nextUnplaced();
    if (ended.kind === "pan" || pending) {
      placeAt(event.clientX, event.clientY);
    } else if (ended.kind === "point") {
      select(ended.key, false);
    }
  }

  function setUpPointer() {
    svg.addEventListener("pointerdown", onPointerDown);
    svg.addEventListener("pointermove", onPointerMove);
    svg.addEventListener("pointerup", (event) => onPointerUp(event, false));
    svg.addEventListener("pointercancel", (event) => onPointerUp(event, true));
    svg.addEventListener("wheel", (event) => {
      event.preventDefault();
      zoomAround(Math.exp(-event.deltaY * 0.002), event.clientX, event.clientY);
    }, { passive: false });
    svg.addEventListener("keydown", (event) => onKey(event, true));
    svg.addEventListener("focus", () => draw());
    if (cornerList) { cornerList.addEventListener("keydown", (event) => onKey(event, false)); }
    root.querySelectorAll("[data-zoom]").forEach((button) => {
      button.addEventListener("click", () => {
        const how = button.dataset.zoom;
        if (how === "in") { zoomAtCentre(ZOOM_STEP); }
        if (how === "out") { zoomAtCentre(1 / ZOOM_STEP); }
        if (how === "fit") { fit(); }
      });
    });
    new ResizeObserver(() => applyView()).observe(svg);
  }

  // ---- the live values (POST /api/measure/) ---------------------------------------------------
  let measureTimer = null;
  let inFlight = false;
  let sendAgain = false;
  let revision = 0; // counts changes to the points: an answer for an older revision is not shown

  function csrfToken() {
    const input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function setUsable(usable) {
    if (useButton) { useButton.disabled = !usable; }
  }

  function clearResults(status) {
    if (results) { results.hidden = true; }
    if (errorList) { errorList.textContent = ""; }
    if (resultStatus) { resultStatus.textContent = status; }
    if (cornerList) {
      cornerList.querySelectorAll(".has-error").forEach((button) => button.classList.remove("has-error"));
    }
  }

  function scheduleMeasure() {
    revision += 1;
    setUsable(false);
    window.clearTimeout(measureTimer);
    if (!complete()) {
      clearResults(interpolate(
        gettext("Place all twelve corners to see the values (%(placed)s of %(total)s placed)."),
        { placed: placed.size, total: corners.length },
        true,
      ));
      return;
    }
    if (resultStatus) { resultStatus.textContent = gettext("Updating the values…"); }
    measureTimer = window.setTimeout(sendMeasure, MEASURE_DELAY_MS);
  }

  function sendMeasure() {
    if (!complete()) { return; }
    if (inFlight) { sendAgain = true; return; }
    inFlight = true;
    const sentRevision = revision;
    const body = { points: pointsJson() };
    if (config.spacing) { body.pixel_spacing_mm = config.spacing; }
    fetch(config.measure_url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    })
      .then((response) => response.json().catch(() => null).then((answer) => ({ response, answer })))
      .then(({ response, answer }) => {
        if (sentRevision !== revision) { return; } // the points moved since: a newer answer follows
        if (response.ok && answer) { showValues(answer); } else { showRefusal(response.status, answer); }
      })
      .catch(() => {
        if (sentRevision === revision) { showRefusal(0, null); }
      })
      .finally(() => {
        inFlight = false;
        if (sendAgain || sentRevision !== revision) {
          sendAgain = false;
          if (complete()) { sendMeasure(); }
        }
      });
  }

  function setResult(name, text) {
    const node = results && results.querySelector(`[data-result="${name}"]`);
    if (node) { node.textContent = text; }
  }

  function fixed(value, places) {
    return typeof value === "number" ? value.toFixed(places) : String(value);
  }

  function showValues(answer) {
    clearResults("");
    const heights = answer.heights || {};
    const unit = heights.unit === "mm" ? "mm" : "px";
    HEIGHT_WORDS.forEach(([name]) => setResult(name, `${fixed(heights[name], 2)} ${unit}`));
    setResult("unit", unit === "mm"
      ? gettext("Heights in millimetres (the film's pixel spacing).")
      : gettext("Heights in pixels: the film has no pixel spacing."));
    setResult("vhl", `${fixed(answer.vhl_percent, 1)} %`);
    setResult("kyphosis", `${fixed(answer.kyphosis_angle_deg, 1)}°`);
    const genant = answer.genant || {};
    setResult("genant", interpolate(gettext("Grade %(grade)s"), { grade: genant.grade }, true));
    setResult("genant-reductions", interpolate(
      gettext("anterior height reduced %(anterior)s %, posterior %(posterior)s %"),
      {
        anterior: fixed(genant.anterior_reduction_percent, 1),
        posterior: fixed(genant.posterior_reduction_percent, 1),
      },
      true,
    ));
    if (results) { results.hidden = false; }
    if (resultStatus) { resultStatus.textContent = gettext("Computed from the twelve corners; not saved yet."); }
    setUsable(true);
  }

  function errorLabel(path) {
    const parts = path.split(".");
    if (parts[0] === "points" && parts.length === 3) {
      const item = cornerByKey.get(`${parts[1]}.${parts[2]}`);
      if (item) { return item.label; }
    }
    if (parts[0] === "points" && parts.length === 2) {
      const item = corners.find((candidate) => candidate.vertebra === parts[1]);
      if (!item) { return parts[1]; }
      return item.vertebra_label || item.label.split(" · ")[0];
    }
    return path === "pixel_spacing_mm" ? gettext("Pixel spacing") : gettext("Corners");
  }

  // The corner a refusal names, or all four corners of the vertebra whose outline it names.
  function markError(path) {
    const parts = path.split(".");
    if (!cornerList || parts[0] !== "points" || parts.length < 2) { return; }
    cornerList.querySelectorAll("button[data-key]").forEach((button) => {
      const [vertebra, corner] = button.dataset.key.split(".");
      if (vertebra === parts[1] && (parts.length === 2 || corner === parts[2])) { button.classList.add("has-error"); }
    });
  }

  function showRefusal(status, answer) {
    clearResults("");
    const messages = [];
    if (status === 400 && answer && answer.errors) {
      Object.entries(answer.errors).forEach(([path, list]) => {
        (Array.isArray(list) ? list : [list]).forEach((message) => messages.push(
          interpolate(gettext("%(where)s: %(problem)s"), { where: errorLabel(path), problem: message }, true),
        ));
        markError(path);
      });
    } else if (status === 401 || status === 403) {
      messages.push(gettext("You are signed out or may not measure: sign in again, then reload this page."));
    } else if (status === 0) {
      messages.push(gettext("The server could not be reached: the values are not up to date. Move a point to try again."));
    } else {
      messages.push(interpolate(
        gettext("The values could not be computed (the server answered %(status)s). Move a point to try again."),
        { status },
        true,
      ));
    }
    if (resultStatus) { resultStatus.textContent = gettext("These corners give no values:"); }
    messages.forEach((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      errorList.appendChild(item);
    });
    setUsable(false);
  }

  // ---- set up ---------------------------------------------------------------------------------
  function loadPoints(points) {
    corners.forEach((item) => {
      const point = readingPoint(points, item.vertebra, item.corner);
      if (point) { placed.set(item.key, toImagePoint(point.x, point.y)); }
    });
  }

  function setUpMeasuring() {
    buildList();
    if (config.points) { loadPoints(config.points); }
    const next = nextUnplaced();
    selectedKey = next ? next.key : null;
    const clear = root.querySelector("[data-clear]") || document.querySelector("[data-clear]");
    if (clear) {
      clear.addEventListener("click", () => {
        if (!placed.size || !window.confirm(gettext("Remove all twelve points? Nothing saved is changed."))) { return; }
        placed.clear();
        selectedKey = corners.length ? corners[0].key : null;
        explicitSelection = false;
        changed();
      });
    }
    const centre = document.querySelector("[data-place-centre]");
    if (centre) { centre.addEventListener("click", placeAtCentre); }
    if (form) {
      form.addEventListener("submit", (event) => {
        if (useButton && useButton.disabled) { event.preventDefault(); }
      });
    }
    changed();
  }

  function setUpLegend() {
    const legend = document.querySelector("[data-legend]");
    if (!legend) { return; }
    (config.readings || []).forEach((reading) => {
      const item = document.createElement("li");
      const swatch = element("svg", { width: 24, height: 12, viewBox: "0 0 24 12", "aria-hidden": "true", class: "legend-swatch" });
      swatch.appendChild(element("line", { x1: 1, y1: 6, x2: 23, y2: 6, stroke: reading.colour, "stroke-width": 3 }));
      item.append(swatch, " ", reading.label);
      legend.appendChild(item);
    });
  }

  setUpWindow();
  showImage();
  setUpPointer();
  if (measuring) { setUpMeasuring(); } else { setUpLegend(); }
  root.classList.add("is-ready");
  applyView();
})();
