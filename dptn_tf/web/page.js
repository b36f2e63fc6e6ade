// The page: photos in, poses picked or edited, results drawn; the models run in worker.js.
// URL options: ?backend=wasm|webgpu (default wasm) and ?threads=N (default: the machine's
// cores where the host sends the cross-origin isolation headers, else 1).
// window.dptnPage exposes the state (the last result's inputs and timing) to tests.
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const page = { site: null, editor: null, source: null, last: null, showPhoto: true };
window.dptnPage = page;

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
let nextId = 0;
const waiting = new Map();
worker.onmessage = ({ data }) => {
  const { resolve, reject } = waiting.get(data.id);
  waiting.delete(data.id);
  if (data.ok) resolve(data.result);
  else reject(new Error(data.error));
};
// A worker that cannot start (its script or ONNX Runtime Web missing) answers nothing more.
worker.onerror = (event) => {
  const error = new Error(`the page's worker failed: ${event.message || "its script did not load"}`);
  waiting.forEach(({ reject }) => reject(error));
  waiting.clear();
  say(error.message, true);
};
function call(type, message = {}) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, type, ...message });
  });
}

function say(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

// Drawing ---------------------------------------------------------------------------------

function drawSkeleton(context, pose, scale, radius) {
  const { limbs, colors } = page.site.skeleton;
  const missing = (p) => p[0] < 0 || p[1] < 0;
  context.lineWidth = radius;
  limbs.forEach(([a, b], k) => {
    if (missing(pose[a]) || missing(pose[b])) return;
    context.strokeStyle = colors[k % colors.length];
    context.beginPath();
    context.moveTo(pose[a][1] * scale, pose[a][0] * scale);
    context.lineTo(pose[b][1] * scale, pose[b][0] * scale);
    context.stroke();
  });
  pose.forEach((p, i) => {
    if (missing(p)) return;
    context.fillStyle = colors[i];
    context.beginPath();
    context.arc(p[1] * scale, p[0] * scale, radius, 0, 2 * Math.PI);
    context.fill();
  });
}

function rgbaCanvas(rgba, height, width) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(new ImageData(rgba, width, height), 0, 0);
  return canvas;
}

async function showPhoto(canvas, blob, keypoints, height, width) {
  const bitmap = await createImageBitmap(blob);
  const scale = Math.min(1, 768 / Math.max(height, width));
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  drawSkeleton(context, keypoints, scale, Math.max(2, Math.min(canvas.width, canvas.height) / 80));
}

function buildGallery() {
  const [height, width] = page.site.skeleton.frame;
  page.site.gallery.forEach(({ name, pose }, index) => {
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    canvas.title = name;
    canvas.dataset.index = index;
    drawSkeleton(canvas.getContext("2d"), pose, 1, Math.max(1.5, height / 60));
    canvas.addEventListener("click", () => {
      document.querySelectorAll("#gallery canvas").forEach((c) => c.classList.remove("chosen"));
      canvas.classList.add("chosen");
      editPose(pose, null);
      say(`Target pose: ${name} of the gallery.`);
    });
    $("gallery").appendChild(canvas);
  });
}

function editPose(pose, background) {
  page.editor.load(pose, page.showPhoto ? background : null);
  page.editor.photo = background;
}

// Events ----------------------------------------------------------------------------------

function readPhoto(blob, name) {
  say(`Finding the person in ${name}...`);
  return call("photo", { key: name, blob, name });
}

async function onSource(blob, label) {
  try {
    const found = await readPhoto(blob, "your photo");
    await showPhoto($("source-view"), blob, found.keypoints, found.height, found.width);
    const present = found.keypoints.filter((p) => p[0] >= 0).length;
    page.source = { ...found, windowUrl: windowUrl(found) };
    $("generate").disabled = false;
    say(`Source (${label}): found ${present} of 18 joints in ${found.poseMs.toFixed(0)} ms.`);
  } catch (error) {
    say(`Source: ${error.message}`, true);
  }
}

function windowUrl(found) {
  const [height, width] = page.site.skeleton.frame;
  return rgbaCanvas(found.windowRgba, height, width).toDataURL();
}

async function onPosePhoto(blob) {
  try {
    const found = await readPhoto(blob, "the pose photo");
    editPose(found.framePose, windowUrl(found));
    say("Target pose: from the photo (drawn behind it).");
  } catch (error) {
    say(`Target photo: ${error.message}`, true);
  }
}

async function onGenerate() {
  const target = page.editor.pose();
  if (!page.source) return say("Generate: give a photo of a person first.", true);
  if (!target) return say("Generate: pick a target pose first.", true);
  $("generate").disabled = true;
  say("Generating...");
  const clicked = performance.now();
  try {
    const result = await call("generate", { key: "your photo", target });
    const [height, width] = page.site.skeleton.frame;
    const canvas = $("result");
    canvas.width = width;
    canvas.height = height;
    canvas.getContext("2d").putImageData(new ImageData(result.rgba, width, height), 0, 0);
    const total = performance.now() - clicked;
    page.last = { target, source: page.source.keypoints, rgba: result.rgba,
      generatorMs: result.ms, clickMs: total };
    $("timing").textContent = `${total.toFixed(0)} ms (generator ${result.ms.toFixed(0)} ms)`;
    say(`Generated in ${total.toFixed(0)} ms.`);
  } catch (error) {
    say(`Generate: ${error.message}`, true);
  } finally {
    $("generate").disabled = false;
  }
}

function download(name, text) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

async function onImport(file) {
  try {
    const json = JSON.parse(await file.text());
    const pose = window.DptnJointEditor.fromOpenPose(json);
    const [height, width] = page.site.skeleton.frame;
    const sameFrame = json.canvas_height === height && json.canvas_width === width;
    // A pose drawn on another canvas is placed in the frame around its person.
    const { placedInFrame } = await import("./pose_pipeline.js");
    editPose(sameFrame ? pose : placedInFrame(pose, [height, width], null, page.site.margin),
      null);
    say(`Target pose: ${file.name}.`);
  } catch (error) {
    say(`Import: ${file.name}: ${error instanceof SyntaxError ? "not JSON" : error.message}`, true);
  }
}

async function startWebcam() {
  if (!navigator.mediaDevices) {
    return say("Webcam: the browser allows it only to a page on https or localhost.", true);
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true });
    $("camera").srcObject = stream;
    $("camera").hidden = false;
    $("snap").hidden = false;
  } catch (error) {
    say(`Webcam: ${error.message}`, true);
  }
}

function snap() {
  const video = $("camera");
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  canvas.toBlob((blob) => onSource(blob, "webcam"), "image/png");
}

function wire() {
  const file = (input, handler) => $(input).addEventListener("change", (event) => {
    const [chosen] = event.target.files;
    event.target.value = "";
    if (chosen) handler(chosen);
  });
  file("source-file", (f) => onSource(f, f.name));
  file("pose-file", onPosePhoto);
  file("import-json", onImport);
  $("generate").addEventListener("click", onGenerate);
  $("undo").addEventListener("click", () => page.editor.undo());
  $("redo").addEventListener("click", () => page.editor.redo());
  $("mirror").addEventListener("click", () => page.editor.mirror());
  $("reset").addEventListener("click", () => page.editor.reset());
  $("from-source").addEventListener("click", () => {
    if (page.source) editPose(page.source.framePose, page.source.windowUrl);
  });
  $("toggle-photo").addEventListener("click", () => {
    page.showPhoto = !page.showPhoto;
    page.editor.background = page.showPhoto ? page.editor.photo : null;
    if (page.editor.points) page.editor.draw();
  });
  $("export-json").addEventListener("click", () => {
    if (page.editor.pose()) download("pose_keypoints.json", JSON.stringify(page.editor.toOpenPose()));
  });
  $("webcam").addEventListener("click", startWebcam);
  $("snap").addEventListener("click", snap);
}

async function start() {
  page.site = await (await fetch("site.json")).json();
  page.editor = new window.DptnJointEditor($("editor"), page.site.skeleton);
  buildGallery();
  wire();
  const isolated = self.crossOriginIsolated;
  const backend = params.get("backend") || "wasm";
  // Threads share memory, which a page may only do when cross-origin isolated.
  const threads = isolated ? Number(params.get("threads")) || navigator.hardwareConcurrency : 1;
  const loaded = await call("init", { siteJson: page.site, backend, threads });
  page.runtime = { ...loaded, isolated };
  $("runtime").textContent = `ONNX Runtime Web ${page.site.onnxruntime_web}, ${backend}, ` +
    `${threads} thread${threads > 1 ? "s" : ""}` + (isolated ? "."
    : " (the page is not cross-origin isolated, so one thread: its host does not send the" +
      " COOP/COEP headers, or it is not on https or localhost; dptn-demo --site sends them).");
  say("Give a photo of a person.");
  if (page.site.gallery.length) $("gallery").firstChild.click();
}

page.ready = start().catch((error) => {
  say(`The page could not start: ${error.message}`, true);
  throw error;
});
