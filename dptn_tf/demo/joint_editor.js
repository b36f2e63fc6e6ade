// The joint editor, the one widget Gradio lacks: the target pose as an SVG skeleton in the
// model's frame whose 18 joints are dragged with the pointer. Double-click marks a joint missing
// (hollow) or present again. Every change is written, as JSON of 18 [y, x] (-1 missing), into
// the "Target pose" textbox, which the Generate button sends. window.DPTN_SKELETON (frame,
// names, limbs, colours, mirror pairs) comes from the page, so no skeleton is defined here.
(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const editor = { points: null, missing: null, loaded: null, circles: [], lines: [] };

  const skeleton = () => window.DPTN_SKELETON;
  const textbox = () => document.querySelector("#dptn-target-pose textarea");

  function publish() {
    const pose = editor.points.map((p, i) => (editor.missing[i] ? [-1, -1]
      : [Math.round(p[0] * 10) / 10, Math.round(p[1] * 10) / 10]));
    const area = textbox();
    area.value = JSON.stringify(pose);
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function update() {
    const { limbs } = skeleton();
    editor.circles.forEach((circle, i) => {
      circle.setAttribute("cx", editor.points[i][1]);
      circle.setAttribute("cy", editor.points[i][0]);
      circle.setAttribute("fill-opacity", editor.missing[i] ? 0 : 1);
    });
    editor.lines.forEach((line, k) => {
      const [a, b] = limbs[k];
      line.setAttribute("x1", editor.points[a][1]);
      line.setAttribute("y1", editor.points[a][0]);
      line.setAttribute("x2", editor.points[b][1]);
      line.setAttribute("y2", editor.points[b][0]);
      line.style.display = editor.missing[a] || editor.missing[b] ? "none" : "";
    });
  }

  function toFrame(svg, event) {
    const [height, width] = skeleton().frame;
    const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(
      svg.getScreenCTM().inverse());
    return [Math.min(Math.max(point.y, 0), height - 1), Math.min(Math.max(point.x, 0), width - 1)];
  }

  function draw() {
    const host = document.querySelector("#dptn-joint-editor");
    if (!host || !editor.points) return;
    const { frame, names, limbs, colors } = skeleton();
    const [height, width] = frame;
    const radius = Math.max(height, width) / 45;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `-${radius} -${radius} ${width + 2 * radius} ${height + 2 * radius}`);
    const border = document.createElementNS(SVG, "rect");
    Object.entries({ width, height, fill: "none", stroke: "#555" }).forEach(
      ([k, v]) => border.setAttribute(k, v));
    svg.appendChild(border);
    editor.lines = limbs.map((_, k) => {
      const line = document.createElementNS(SVG, "line");
      line.setAttribute("stroke", colors[k % colors.length]);
      line.setAttribute("stroke-width", radius / 1.5);
      svg.appendChild(line);
      return line;
    });
    editor.circles = names.map((name, i) => {
      const circle = document.createElementNS(SVG, "circle");
      circle.setAttribute("r", radius);
      circle.setAttribute("fill", colors[i]);
      circle.setAttribute("stroke", colors[i]);
      circle.setAttribute("stroke-width", radius / 3);
      circle.dataset.joint = i;
      const title = document.createElementNS(SVG, "title");
      title.textContent = name;
      circle.appendChild(title);
      circle.addEventListener("pointerdown", (event) => {
        circle.setPointerCapture(event.pointerId);
        event.preventDefault();
      });
      circle.addEventListener("pointermove", (event) => {
        if (!circle.hasPointerCapture(event.pointerId)) return;
        editor.points[i] = toFrame(svg, event);
        editor.missing[i] = false;
        update();
      });
      circle.addEventListener("pointerup", (event) => {
        circle.releasePointerCapture(event.pointerId);
        publish();
      });
      circle.addEventListener("dblclick", () => {
        editor.missing[i] = !editor.missing[i];
        update();
        publish();
      });
      svg.appendChild(circle);
      return circle;
    });
    host.replaceChildren(svg);
    update();
  }

  // A pose from the page (JSON of 18 [y, x], -1 missing). A missing joint waits, hollow, in a
  // column at the frame's left edge, to be dragged into place.
  function load(json) {
    let pose;
    try {
      pose = JSON.parse(json || "null");
    } catch (error) {
      return;
    }
    if (!Array.isArray(pose) || pose.length !== skeleton().names.length) return;
    const [height] = skeleton().frame;
    editor.missing = pose.map(([y, x]) => y < 0 || x < 0);
    editor.points = pose.map(([y, x], i) => (editor.missing[i]
      ? [((i + 1) * height) / (pose.length + 1), 0] : [y, x]));
    editor.loaded = json;
    draw();
  }

  // The person's right and left change places and the picture turns about its vertical axis.
  function mirror() {
    if (!editor.points) return;
    const width = skeleton().frame[1];
    const flip = ([y, x]) => [y, width - 1 - x];
    for (const [right, left] of skeleton().mirror) {
      [editor.points[right], editor.points[left]] = [editor.points[left], editor.points[right]];
      [editor.missing[right], editor.missing[left]] = [editor.missing[left], editor.missing[right]];
    }
    editor.points = editor.points.map(flip);
    update();
    publish();
  }

  function reset() {
    if (!editor.loaded) return;
    load(editor.loaded);
    publish();
  }

  window.dptnJointEditor = { load, mirror, reset };
})();
