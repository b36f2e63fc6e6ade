// The page's models, in a Web Worker so that the page stays responsive while they run:
// BlazePose's two models and the generator on ONNX Runtime Web (WebAssembly or WebGPU).
// Messages are {id, type, ...}; every answer is {id, ok, result} or {id, ok: false, error},
// an error being a sentence for the visitor.
import * as ort from "./ort/ort.webgpu.min.mjs";
import * as pipeline from "./pose_pipeline.js";

let site = null;
let sessions = null;
const photos = new Map(); // key -> {image, keypoints}

function tensorOutputs(result) {
  return Object.values(result).map((t) => ({ dims: t.dims, data: t.data }));
}

async function runPose(name, data, size) {
  const session = sessions[name];
  const input = new ort.Tensor("float32", data, [1, size, size, 3]);
  return tensorOutputs(await session.run({ [session.inputNames[0]]: input }));
}

async function decode(blob, name) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none",
      premultiplyAlpha: "none" });
  } catch (error) {
    throw new Error(`${name}: not an image the browser can read (JPEG, PNG, WebP, GIF, BMP)`);
  }
  const { width, height } = bitmap;
  if (width * height > pipeline.MAX_PHOTO_PIXELS) {
    throw new Error(`${name}: ${width}x${height} pixels, more than the 4096x4096 allowed`);
  }
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { colorSpace: "srgb" });
  context.drawImage(bitmap, 0, 0);
  const rgba = context.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    data[j] = rgba[i];
    data[j + 1] = rgba[i + 1];
    data[j + 2] = rgba[i + 2];
  }
  return { data, height, width };
}

function rgba(image) {
  const out = new Uint8ClampedArray(image.height * image.width * 4);
  for (let i = 0, j = 0; j < image.data.length; i += 4, j += 3) {
    out.set(image.data.subarray(j, j + 3), i);
    out[i + 3] = 255;
  }
  return out;
}

const handlers = {
  async init({ siteJson, backend, threads }) {
    site = siteJson;
    ort.env.wasm.wasmPaths = new URL("./ort/", import.meta.url).href;
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = "error";
    const providers = backend === "webgpu" ? ["webgpu", "wasm"] : ["wasm"];
    const load = (file) => ort.InferenceSession.create(new URL(`./models/${file}`, import.meta.url).href,
      { executionProviders: providers, graphOptimizationLevel: "all" });
    const started = performance.now();
    sessions = {
      generator: await load("generator.onnx"),
      detector: await load("pose_detection.onnx"),
      landmarks: await load("pose_landmark_full.onnx"),
    };
    return { backend, threads, loadMs: performance.now() - started };
  },

  // A photo -> its person's keypoints (kept under `key` for generate) and, for the editor,
  // their pose in the frame and the person's window at the frame's size.
  async photo({ key, blob, name }) {
    const image = await decode(blob, name);
    const started = performance.now();
    const found = await pipeline.blazeposeKeypoints(image, runPose, name);
    const poseMs = performance.now() - started;
    const frame = site.skeleton.frame;
    const window = pipeline.personWindow(found, frame, [image.height, image.width], site.margin);
    const view = pipeline.resizeUint8(pipeline.cropWindow(image, window), frame[0], frame[1]);
    photos.set(key, { image, keypoints: found });
    return { keypoints: found, height: image.height, width: image.width, poseMs,
      framePose: pipeline.keypointsIn(window, found, frame), windowRgba: rgba(view) };
  },

  async generate({ key, target }) {
    const photo = photos.get(key);
    if (!photo) throw new Error("give a photo of a person first");
    const frame = site.skeleton.frame;
    const outside = target.map(([y, x], i) => ((y === -1 || x === -1)
      || (y >= 0 && y <= frame[0] && x >= 0 && x <= frame[1]) ? null : site.skeleton.names[i]))
      .filter(Boolean);
    if (outside.length) {
      throw new Error(`target pose: joints outside the ${frame[0]}x${frame[1]} frame: ${outside}`);
    }
    const started = performance.now();
    const inputs = pipeline.generatorInputs(photo.image, photo.keypoints, frame, site.load_size,
      site.margin);
    const [height, width] = site.load_size;
    const feeds = {
      source_image: new ort.Tensor("uint8", inputs.image.data, [1, height, width, 3]),
      source_keypoints: new ort.Tensor("float32", Float32Array.from(inputs.source.flat()), [1, 18, 2]),
      target_keypoints: new ort.Tensor("float32", Float32Array.from(target.flat()), [1, 18, 2]),
    };
    const result = await sessions.generator.run(feeds, ["image"]);
    const image = { data: result.image.data, height: frame[0], width: frame[1] };
    return { rgba: rgba(image), ms: performance.now() - started, source: inputs.source };
  },
};

// One message at a time: a session runs one inference at a time (WebGPU refuses a second).
let queue = Promise.resolve();
onmessage = ({ data }) => {
  queue = queue.then(async () => {
    try {
      if (!sessions && data.type !== "init") throw new Error("the models are still loading");
      const result = await handlers[data.type](data);
      postMessage({ id: data.id, ok: true, result });
    } catch (error) {
      postMessage({ id: data.id, ok: false, error: error.message || String(error) });
    }
  });
};
