// The page's geometry, ported from the Python library so that the browser computes what
// tools/transfer.py computes: BlazePose's pre- and post-processing (dptn_tf/pose/blazepose.py),
// the person's window (dptn_tf/pose/framing.py), Pillow's bilinear resize (resize_uint8) and
// the ONNX export's call (dptn_tf/inference/litert_onnx_models.py, PortableModel.__call__).
// The pose heatmaps are not here: the exported generator renders them itself.
// Images are {data: Uint8Array RGB, height, width}; keypoints are 18 [y, x], -1 missing.

export const MISSING = -1;
const DETECTOR_SIZE = 224;
const LANDMARK_SIZE = 256;
const MIN_DETECTION_SCORE = 0.5;
const MIN_PRESENCE = 0.5;
const NMS_MIN_IOU = 0.3;
const ROI_SCALE = 1.25;
const HEATMAP_KERNEL = 7;
const MIN_HEATMAP_CONFIDENCE = 0.5;
const NUM_LANDMARKS = 33;
export const VISIBILITY_THRESHOLD = 0.5;
export const MAX_PHOTO_PIXELS = 4096 * 4096;
const COCO18_FROM_BLAZEPOSE = [0, [11, 12], 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5,
  2, 8, 7];

// numpy's round: halves to even.
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

const sigmoid = (x) => 1 / (1 + Math.exp(-x));
const isMissing = ([y, x]) => y === MISSING || x === MISSING;

// Pillow's Image.resize(size, BILINEAR) for 8-bit RGB: separable, antialiased when shrinking,
// fixed-point coefficients of 22 bits, horizontal pass first.
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const inverse = 1 / filterScale; // Pillow multiplies by it, and the last bit counts
  const taps = [];
  for (let out = 0; out < outSize; out++) {
    const centre = (out + 0.5) * scale;
    const low = Math.max(Math.trunc(centre - support + 0.5), 0);
    const high = Math.min(Math.trunc(centre + support + 0.5), inSize);
    const weights = [];
    let total = 0;
    for (let i = low; i < high; i++) {
      const w = Math.max(0, 1 - Math.abs((i - centre + 0.5) * inverse));
      weights.push(w);
      total += w;
    }
    const fixed = weights.map((w) => {
      const k = total !== 0 ? w / total : w;
      return k < 0 ? Math.trunc(-0.5 + k * 2 ** 22) : Math.trunc(0.5 + k * 2 ** 22);
    });
    taps.push({ low, fixed });
  }
  return taps;
}

function resamplePass(data, height, width, outHeight, outWidth, horizontal) {
  const taps = coefficients(horizontal ? width : height, horizontal ? outWidth : outHeight);
  const out = new Uint8Array(outHeight * outWidth * 3);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const { low, fixed } = taps[horizontal ? x : y];
      for (let c = 0; c < 3; c++) {
        let sum = 2 ** 21;
        for (let k = 0; k < fixed.length; k++) {
          const index = horizontal ? (y * width + low + k) * 3 : ((low + k) * width + x) * 3;
          sum += data[index + c] * fixed[k];
        }
        out[(y * outWidth + x) * 3 + c] = Math.min(255, Math.max(0, Math.floor(sum / 2 ** 22)));
      }
    }
  }
  return out;
}

export function resizeUint8(image, height, width) {
  let { data } = image;
  if (width !== image.width) data = resamplePass(data, image.height, image.width, image.height, width, true);
  if (height !== image.height) data = resamplePass(data, image.height, width, height, width, false);
  return { data: data === image.data ? new Uint8Array(data) : data, height, width };
}

// The person's window (framing.py's person_window, Window.crop, Window.keypoints_in).
export function personWindow(keypoints, frame, photoSize = null, margin = 0.15) {
  const present = keypoints.filter((p) => !isMissing(p));
  const low = [0, 1].map((a) => Math.min(...present.map((p) => p[a])));
  const high = [0, 1].map((a) => Math.max(...present.map((p) => p[a])));
  if (present.length < 2 || (high[0] === low[0] && high[1] === low[1])) {
    throw new Error(`cannot frame a person from ${present.length} distinct joints; ` +
      "at least two distinct joints are needed");
  }
  const span = [high[0] - low[0], high[1] - low[1]];
  const extent = span.map((s) => s + 2 * margin * Math.max(...span));
  const aspect = frame[0] / frame[1];
  const side = Math.max(extent[0], extent[1] * aspect);
  const size = [side, side / aspect].map((s) => Math.max(roundHalfEven(s), 1));
  let start = [0, 1].map((a) => roundHalfEven((low[a] + high[a]) / 2 - size[a] / 2));
  if (photoSize) {
    start = start.map((s, a) => {
      const room = photoSize[a] - size[a];
      return room >= 0 ? Math.min(Math.max(s, 0), room) : s;
    });
  }
  return { top: start[0], left: start[1], height: size[0], width: size[1] };
}

export function cropWindow(image, window) {
  const data = new Uint8Array(window.height * window.width * 3);
  const clip = (v, n) => Math.min(Math.max(v, 0), n - 1);
  for (let y = 0; y < window.height; y++) {
    const row = clip(window.top + y, image.height);
    for (let x = 0; x < window.width; x++) {
      const source = (row * image.width + clip(window.left + x, image.width)) * 3;
      data.set(image.data.subarray(source, source + 3), (y * window.width + x) * 3);
    }
  }
  return { data, height: window.height, width: window.width };
}

export function keypointsIn(window, keypoints, size = null) {
  const scale = size ? [size[0] / window.height, size[1] / window.width] : [1, 1];
  return keypoints.map((p) => (isMissing(p) ? [MISSING, MISSING]
    : [(p[0] - window.top) * scale[0], (p[1] - window.left) * scale[1]]));
}

// A person's keypoints in a photo -> their pose in the frame (photo_transfer.placed_in_frame).
export function placedInFrame(keypoints, frame, photoSize = null, margin = 0.15) {
  return keypointsIn(personWindow(keypoints, frame, photoSize, margin), keypoints, frame);
}

// The generator's inputs for a photo, its keypoints and a target pose in the frame
// (photo_transfer.transfer_found, then PortableModel.__call__): the source image at the
// network's size and both poses as float32 [18, 2] in the frame.
export function generatorInputs(photo, keypoints, frame, loadSize, margin) {
  const window = personWindow(keypoints, frame, [photo.height, photo.width], margin);
  const crop = cropWindow(photo, window);
  const inCrop = keypointsIn(window, keypoints);
  const scale = [frame[0] / crop.height, frame[1] / crop.width];
  const source = inCrop.map((p) => (isMissing(p) ? [MISSING, MISSING]
    : [0, 1].map((a) => Math.min(Math.max(p[a] * scale[a], 0), frame[a]))));
  return { window, image: resizeUint8(crop, loadSize[0], loadSize[1]), source };
}

// BlazePose ---------------------------------------------------------------------------------

function detectorAnchors() {
  const anchors = [];
  for (const [stride, layers] of [[8, 1], [16, 1], [32, 3]]) {
    const cells = Math.ceil(DETECTOR_SIZE / stride);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let k = 0; k < 2 * layers; k++) anchors.push([(y + 0.5) / cells, (x + 0.5) / cells]);
      }
    }
  }
  return anchors;
}
const ANCHORS = detectorAnchors();

// A rotated rectangle of the photo (blazepose.py's RotatedRect): its [0, 1] coordinates ->
// photo pixels, and its bilinear crop into a float32 square as MediaPipe's ImageToTensor.
function toPhoto(rect, [y, x]) {
  const u = (x - 0.5) * rect.width;
  const v = (y - 0.5) * rect.height;
  const cos = Math.cos(rect.rotation);
  const sin = Math.sin(rect.rotation);
  return [rect.centerY + sin * u + cos * v, rect.centerX + cos * u - sin * v];
}

function cropRect(image, rect, size, replicateBorder) {
  const out = new Float32Array(size * size * 3);
  const { data, height, width } = image;
  const tap = (row, col, c) => {
    const inside = row >= 0 && row < height && col >= 0 && col < width;
    if (!inside && !replicateBorder) return 0;
    const r = Math.min(Math.max(row, 0), height - 1);
    const k = Math.min(Math.max(col, 0), width - 1);
    return data[(r * width + k) * 3 + c];
  };
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const [py, px] = toPhoto(rect, [i / size, j / size]);
      const y = roundHalfEven(py * 32) / 32;
      const x = roundHalfEven(px * 32) / 32;
      const y0 = Math.floor(y);
      const x0 = Math.floor(x);
      const wy = y - y0;
      const wx = x - x0;
      for (let c = 0; c < 3; c++) {
        const top = tap(y0, x0, c) * (1 - wx) + tap(y0, x0 + 1, c) * wx;
        const bottom = tap(y0 + 1, x0, c) * (1 - wx) + tap(y0 + 1, x0 + 1, c) * wx;
        out[(i * size + j) * 3 + c] = Math.fround(roundHalfEven(top * (1 - wy) + bottom * wy) / 255);
      }
    }
  }
  return out;
}

// The model output of these dims (batch dropped): the models' output order is not documented.
function byShape(outputs, dims) {
  const matches = outputs.filter((o) => o.dims.slice(1).join() === dims.join());
  if (matches.length !== 1) throw new Error(`expected one model output of shape [${dims}]`);
  return matches[0].data;
}

function iou(a, b) {
  const h = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const w = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const area = (r) => (r[2] - r[0]) * (r[3] - r[1]);
  return (h * w) / Math.max(area(a) + area(b) - h * w, 1e-12);
}

export class NoPersonFound extends Error {}

// run(name, Float32Array NHWC, size) -> [{dims, data}] runs "detector" or "landmarks".
async function bodyRegion(image, run, name) {
  const side = Math.max(image.height, image.width);
  const letterbox = { centerY: image.height / 2, centerX: image.width / 2, height: side,
    width: side, rotation: 0 };
  const tensor = cropRect(image, letterbox, DETECTOR_SIZE, false).map((v) => v * 2 - 1);
  const outputs = await run("detector", tensor, DETECTOR_SIZE);
  const raw = byShape(outputs, [ANCHORS.length, 12]);
  const logits = byShape(outputs, [ANCHORS.length, 1]);
  const scores = Array.from(logits, (s) => sigmoid(Math.min(Math.max(s, -100), 100)));
  let best = 0;
  scores.forEach((s, i) => { if (s > scores[best]) best = i; });
  if (scores[best] < MIN_DETECTION_SCORE) {
    throw new NoPersonFound(`${name}: no person found (the detector's best score is ` +
      `${scores[best].toFixed(2)}, below ${MIN_DETECTION_SCORE})`);
  }
  const offset = (i, k) => [raw[i * 12 + 2 * k + 1] / DETECTOR_SIZE, raw[i * 12 + 2 * k] / DETECTOR_SIZE];
  const box = (i) => {
    const [cy, cx] = offset(i, 0);
    const [h, w] = offset(i, 1);
    const y = cy + ANCHORS[i][0];
    const x = cx + ANCHORS[i][1];
    return [y - h / 2, x - w / 2, y + h / 2, x + w / 2];
  };
  const bestBox = box(best);
  const voted = [0, 0, 0, 0];
  let total = 0;
  scores.forEach((s, i) => {
    if (s < MIN_DETECTION_SCORE || !(iou(bestBox, box(i)) > NMS_MIN_IOU)) return;
    total += s;
    for (let k = 0; k < 2; k++) {
      const [y, x] = offset(i, 2 + k);
      voted[2 * k] += s * (y + ANCHORS[i][0]);
      voted[2 * k + 1] += s * (x + ANCHORS[i][1]);
    }
  });
  const hip = toPhoto(letterbox, [voted[0] / total, voted[1] / total]);
  const scale = toPhoto(letterbox, [voted[2] / total, voted[3] / total]);
  const dy = scale[0] - hip[0];
  const dx = scale[1] - hip[1];
  const size = 2 * Math.hypot(dy, dx) * ROI_SCALE;
  let rotation = Math.PI / 2 - Math.atan2(-dy, dx);
  rotation -= 2 * Math.PI * Math.floor((rotation + Math.PI) / (2 * Math.PI));
  return { centerY: hip[0], centerX: hip[1], height: size, width: size, rotation };
}

function refineOnHeatmap(points, heatmap, cells, channels) {
  const half = Math.floor(HEATMAP_KERNEL / 2);
  return points.map((point, index) => {
    const centre = point.map((p) => Math.trunc(p * cells));
    if (centre.some((c) => c < 0 || c >= cells)) return point;
    const low = centre.map((c) => Math.max(c - half, 0));
    const high = centre.map((c) => Math.min(c + half + 1, cells));
    let sum = 0;
    let sumY = 0;
    let sumX = 0;
    let strongest = 0;
    for (let r = low[0]; r < high[0]; r++) {
      for (let c = low[1]; c < high[1]; c++) {
        const confidence = sigmoid(heatmap[(r * cells + c) * channels + index]);
        strongest = Math.max(strongest, confidence);
        sum += confidence;
        sumY += r * confidence;
        sumX += c * confidence;
      }
    }
    if (strongest < MIN_HEATMAP_CONFIDENCE) return point;
    return [sumY / (sum * cells), sumX / (sum * cells)];
  });
}

// A photo -> its person's 18 COCO-18 keypoints in its pixels (BlazePose.keypoints).
export async function blazeposeKeypoints(image, run, name = "photo",
  threshold = VISIBILITY_THRESHOLD) {
  const region = await bodyRegion(image, run, name);
  const crop = cropRect(image, region, LANDMARK_SIZE, true);
  const outputs = await run("landmarks", crop, LANDMARK_SIZE);
  const raw = byShape(outputs, [195]);
  const presence = byShape(outputs, [1]);
  const heatmap = byShape(outputs, [64, 64, 39]);
  if (presence[0] < MIN_PRESENCE) {
    throw new NoPersonFound(`${name}: no person found (the landmark model's presence ` +
      `score is ${presence[0].toFixed(2)}, below ${MIN_PRESENCE})`);
  }
  const points = [];
  for (let k = 0; k < 39; k++) {
    points.push([raw[k * 5 + 1] / LANDMARK_SIZE, raw[k * 5] / LANDMARK_SIZE]);
  }
  const refined = refineOnHeatmap(points, heatmap, 64, 39);
  const landmarks = refined.slice(0, NUM_LANDMARKS).map((p) => toPhoto(region, p));
  const visibility = Array.from({ length: NUM_LANDMARKS }, (_, k) => sigmoid(raw[k * 5 + 3]));
  return COCO18_FROM_BLAZEPOSE.map((source) => {
    const sources = Array.isArray(source) ? source : [source];
    if (Math.min(...sources.map((s) => visibility[s])) < threshold) return [MISSING, MISSING];
    const point = [0, 1].map((a) => sources.reduce((t, s) => t + landmarks[s][a], 0) / sources.length);
    const outside = point[0] < 0 || point[1] < 0 || point[0] > image.height - 1
      || point[1] > image.width - 1;
    return outside ? [MISSING, MISSING] : point;
  });
}
