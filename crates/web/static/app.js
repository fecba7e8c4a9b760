"use strict";

// How long the drawing must rest before it is read, and the longest it goes unread while
// the pen keeps moving.
const DEBOUNCE_MS = 120;
const MAX_WAIT_MS = 400;

const pad = document.getElementById("pad");
const pen = pad.getContext("2d");
const result = document.getElementById("result");
const digitText = document.getElementById("digit");
const confidenceText = document.getElementById("confidence");
const sourceText = document.getElementById("source");
const errorText = document.getElementById("error");
// In the static site (web --static), onnx.js runs the model in the page; otherwise the
// server's API does.
const browserModel = window.browserModel ?? null;

let inked = false;
let stroke = null;
let timer = null;
let waitingSince = null;
// Answers can arrive out of order; only the latest request's is shown.
let latest = 0;
// Reads under way (a PNG being made, a request in flight); with the timer, whether the page
// is still to change its answer, shown as data-busy for scripts and tests.
let reading = 0;

function updateBusy() {
  result.dataset.busy = timer !== null || reading > 0 ? "1" : "0";
}

function clearPad() {
  pen.fillStyle = "#000";
  pen.fillRect(0, 0, pad.width, pad.height);
  inked = false;
  clearTimeout(timer);
  timer = null;
  waitingSince = null;
  updateBusy();
}

function padPoint(event) {
  const box = pad.getBoundingClientRect();
  return {
    x: ((event.clientX - box.left) * pad.width) / box.width,
    y: ((event.clientY - box.top) * pad.height) / box.height,
  };
}

function line(from, to) {
  // Light ink on black, as in MNIST; about as thick, for a digit filling the pad, as its strokes.
  pen.strokeStyle = "#fff";
  pen.lineWidth = pad.width / 12;
  pen.lineCap = "round";
  pen.lineJoin = "round";
  pen.beginPath();
  pen.moveTo(from.x, from.y);
  pen.lineTo(to.x, to.y);
  pen.stroke();
  inked = true;
}

function scheduleRead() {
  const now = performance.now();
  waitingSince ??= now;
  clearTimeout(timer);
  const wait = Math.max(0, Math.min(DEBOUNCE_MS, waitingSince + MAX_WAIT_MS - now));
  timer = setTimeout(readPad, wait);
  updateBusy();
}

function readPad() {
  timer = null;
  waitingSince = null;
  if (!inked) {
    updateBusy();
    return;
  }
  if (browserModel) {
    classify("drawing.png", () => browserModel.classifyCanvas(pad));
    return;
  }
  reading += 1;
  pad.toBlob((blob) => {
    if (blob) {
      classify("drawing.png", () => askServer(blob, "drawing.png"));
    }
    reading -= 1;
    updateBusy();
  }, "image/png");
}

/// Reads an image file: the server's work, which the static site has not.
function classifyFile(file) {
  if (browserModel) {
    classify(file.name, async () => ({
      ok: false,
      answer: { error: "reading image files needs the server (cargo run -p web); this page reads drawings" },
    }));
    return;
  }
  classify(file.name, () => askServer(file, file.name));
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  stroke = padPoint(event);
  line(stroke, stroke);
  scheduleRead();
});

pad.addEventListener("pointermove", (event) => {
  if (stroke === null) {
    return;
  }
  // Coalesced events keep a fast stroke smooth where the browser batches them.
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const each of events.length > 0 ? events : [event]) {
    const point = padPoint(each);
    line(stroke, point);
    stroke = point;
  }
  scheduleRead();
});

for (const end of ["pointerup", "pointercancel"]) {
  pad.addEventListener(end, () => {
    stroke = null;
  });
}

document.getElementById("clear").addEventListener("click", () => {
  clearPad();
  latest += 1;
  showNothing();
});

document.getElementById("file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (file) {
    classifyFile(file);
  }
  event.target.value = "";
});

// Files can be dropped anywhere on the page.
document.addEventListener("dragover", (event) => {
  event.preventDefault();
  document.body.classList.add("dragging");
});
document.addEventListener("dragleave", (event) => {
  if (event.relatedTarget === null) {
    document.body.classList.remove("dragging");
  }
});
document.addEventListener("drop", (event) => {
  event.preventDefault();
  document.body.classList.remove("dragging");
  const file = event.dataTransfer.files[0];
  if (file) {
    classifyFile(file);
  }
});

/// The server's answer for an image file's bytes: {ok, answer}.
async function askServer(body, name) {
  try {
    const response = await fetch(
      "/api/classify?maps=true&name=" + encodeURIComponent(name),
      { method: "POST", body, headers: { "Content-Type": "application/octet-stream" } },
    );
    return { ok: response.ok, answer: await response.json() };
  } catch (error) {
    return { ok: false, answer: { error: "cannot reach the server: " + error.message } };
  }
}

/// Shows the answer that `ask` ({ok, answer}) gives for `name`, if no later one came first.
async function classify(name, ask) {
  latest += 1;
  const request = latest;
  reading += 1;
  updateBusy();
  let answer;
  let ok;
  try {
    ({ ok, answer } = await ask());
  } catch (error) {
    ok = false;
    answer = { error: "the model failed: " + error.message };
  }
  reading -= 1;
  updateBusy();
  if (request !== latest) {
    return;
  }
  result.dataset.seq = String(request);
  result.dataset.source = name;
  if (ok) {
    show(answer, name);
  } else {
    showError(answer.error, name);
  }
}

function showNothing() {
  digitText.textContent = "–";
  confidenceText.textContent = "";
  sourceText.textContent = "Nothing read yet.";
  errorText.hidden = true;
  result.dataset.source = "";
  drawBars(null);
}

function show(answer, name) {
  digitText.textContent = String(answer.digit);
  confidenceText.textContent = percent(answer.confidence);
  sourceText.textContent = name === "drawing.png" ? "Read from your drawing." : "Read from " + name + ".";
  errorText.hidden = true;
  drawBars(answer.probabilities);
  drawPixels(document.getElementById("seen"), answer.seen, 28, 28, (v) => v);
  drawMaps(document.getElementById("c1"), answer.c1);
  drawMaps(document.getElementById("c3"), answer.c3);
}

function showError(message, name) {
  digitText.textContent = "?";
  confidenceText.textContent = "";
  sourceText.textContent = name === "drawing.png" ? "Your drawing:" : name + ":";
  errorText.textContent = message;
  errorText.hidden = false;
  drawBars(null);
}

function percent(probability) {
  return (100 * probability).toFixed(1) + "%";
}

const bars = document.getElementById("bars");
const barRows = [];
for (let digit = 0; digit < 10; digit += 1) {
  const row = document.createElement("div");
  row.className = "bar-row";
  row.innerHTML = '<span></span><div class="track"><div class="fill"></div></div><span class="pct"></span>';
  row.children[0].textContent = String(digit);
  bars.append(row);
  barRows.push(row);
}

function drawBars(probabilities) {
  const top = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
  barRows.forEach((row, digit) => {
    const p = probabilities ? probabilities[digit] : 0;
    row.classList.toggle("top", digit === top);
    row.querySelector(".fill").style.width = (100 * p).toFixed(1) + "%";
    row.querySelector(".pct").textContent = probabilities ? percent(p) : "";
  });
}

/// Paints `values` (row after row) into `canvas` in grey, each through `toGrey` (0 to 255).
function drawPixels(canvas, values, width, height, toGrey) {
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  for (let i = 0; i < width * height; i += 1) {
    const grey = toGrey(values[i]);
    image.data.set([grey, grey, grey, 255], 4 * i);
  }
  context.putImageData(image, 0, 0);
}

/// One small picture per map; the layer's lowest value black, its highest white.
function drawMaps(container, maps) {
  let low = Infinity;
  let high = -Infinity;
  for (const value of maps.values) {
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  const span = high > low ? high - low : 1;
  while (container.children.length < maps.count) {
    const canvas = document.createElement("canvas");
    canvas.className = "pixels";
    container.append(canvas);
  }
  const size = maps.height * maps.width;
  for (let map = 0; map < maps.count; map += 1) {
    const values = maps.values.slice(map * size, (map + 1) * size);
    drawPixels(container.children[map], values, maps.width, maps.height,
      (v) => Math.round((255 * (v - low)) / span));
  }
}

function count(n) {
  return n.toLocaleString("en-US");
}

async function loadModel() {
  const line = document.getElementById("model-line");
  try {
    const model = browserModel ? await browserModel.card() : await (await fetch("/api/model")).json();
    const report = model.report;
    const accuracy = report
      ? `test accuracy ${(100 * report.test_accuracy).toFixed(2)}% on ${count(report.test_images)} MNIST test images after ${report.epochs} epochs`
      : "no training report";
    line.textContent = `${model.variant} LeNet-5, ${model.name}, on ${model.backend}: ${accuracy}; ${count(model.total_params)} parameters.`;
    const body = document.querySelector("#summary tbody");
    for (const layer of model.summary.layers) {
      const row = document.createElement("tr");
      const cells = [
        layer.name,
        layer.kind.replaceAll("_", " "),
        count(layer.maps),
        layer.size ? layer.size.join("x") : "",
        layer.kernel ? layer.kernel.join("x") : "",
        layer.stride ?? "",
        layer.activation,
        count(layer.params),
        count(layer.connections),
      ];
      for (const cell of cells) {
        const td = document.createElement("td");
        td.textContent = String(cell);
        row.append(td);
      }
      body.append(row);
    }
    const foot = document.createElement("tfoot");
    foot.innerHTML = "<tr><td>total</td><td></td><td></td><td></td><td></td><td></td><td></td><td></td><td></td></tr>";
    foot.querySelector("td:nth-child(8)").textContent = count(model.total_params);
    foot.querySelector("td:nth-child(9)").textContent = count(model.total_connections);
    document.getElementById("summary").append(foot);
  } catch (error) {
    line.textContent = "Cannot load the model's description: " + error.message;
  }
}

if (browserModel) {
  document.getElementById("static-note").hidden = false;
  document.getElementById("api-note").hidden = true;
}
clearPad();
showNothing();
loadModel();
