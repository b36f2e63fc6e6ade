// The joint editor, shared by the exported web site and the Gradio demo: a pose of 18 joints
// drawn as an SVG skeleton in the model's frame, each joint dragged with the pointer.
// Double-click hides a joint (marks it missing, drawn hollow) or shows it again; every change
// can be undone and redone; mirror swaps the person's sides; reset goes back to the pose last
// loaded; a photo can be drawn behind the skeleton; poses go out and come in as OpenPose JSON
// (pose_keypoints_2d, COCO-18 order, in the frame's pixels). The skeleton (frame, names, limbs,
// colours, mirror pairs) comes from dptn_tf.pose.editor_skeleton, so none is defined here.
// A pose is 18 [y, x] pairs, [-1, -1] for a missing joint.
(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const MISSING = -1;
  const BODY25_TO_COCO18 = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];

  class JointEditor {
    // host: the element the SVG goes in; onChange(pose) after every change a visitor makes.
    constructor(host, skeleton, onChange = () => {}) {
      Object.assign(this, { host, skeleton, onChange });
      this.points = null; // [y, x] of every joint, also where a missing one waits
      this.missing = null;
      this.loaded = null;
      this.background = null;
      this.history = [];
      this.future = [];
    }

    // The current pose, rounded to 0.1 pixel.
    pose() {
      if (!this.points) return null;
      return this.points.map((p, i) => (this.missing[i] ? [MISSING, MISSING]
        : [Math.round(p[0] * 10) / 10, Math.round(p[1] * 10) / 10]));
    }

    // A new pose to edit (a gallery pose, a detected one): the history starts again. A
    // missing joint waits, hollow, in a column at the frame's left edge, to be dragged in.
    load(pose, background = null) {
      const names = this.skeleton.names;
      if (!Array.isArray(pose) || pose.length !== names.length) {
        throw new Error(`a pose needs ${names.length} [y, x] pairs`);
      }
      this.loaded = pose.map(([y, x]) => [y, x]);
      this.background = background;
      this.history = [];
      this.future = [];
      this.set(this.loaded);
      this.draw();
    }

    set(pose) {
      const [height] = this.skeleton.frame;
      this.missing = pose.map(([y, x]) => y < 0 || x < 0);
      this.points = pose.map(([y, x], i) => (this.missing[i]
        ? [((i + 1) * height) / (pose.length + 1), 0] : [y, x]));
    }

    snapshot() {
      return { points: this.points.map((p) => [...p]), missing: [...this.missing] };
    }

    restore(state) {
      this.points = state.points;
      this.missing = state.missing;
      this.update();
      this.onChange(this.pose());
    }

    // Call before a change: what undo goes back to.
    remember() {
      this.history.push(this.snapshot());
      this.future = [];
    }

    undo() {
      if (!this.history.length) return false;
      this.future.push(this.snapshot());
      this.restore(this.history.pop());
      return true;
    }

    redo() {
      if (!this.future.length) return false;
      this.history.push(this.snapshot());
      this.restore(this.future.pop());
      return true;
    }

    // The person's right and left change places and the picture turns about its vertical axis.
    mirror() {
      if (!this.points) return;
      this.remember();
      const width = this.skeleton.frame[1];
      for (const [right, left] of this.skeleton.mirror) {
        [this.points[right], this.points[left]] = [this.points[left], this.points[right]];
        [this.missing[right], this.missing[left]] = [this.missing[left], this.missing[right]];
      }
      const flip = (x) => Math.min(Math.max(width - 1 - x, 0), width - 1);
      this.points = this.points.map(([y, x]) => [y, flip(x)]);
      this.update();
      this.onChange(this.pose());
    }

    reset() {
      if (!this.loaded) return;
      this.remember();
      this.set(this.loaded);
      this.update();
      this.onChange(this.pose());
    }

    toggle(i) {
      this.remember();
      this.missing[i] = !this.missing[i];
      this.update();
      this.onChange(this.pose());
    }

    // OpenPose's JSON of the pose: x, y, confidence per joint (0, 0, 0 when missing).
    toOpenPose() {
      const [height, width] = this.skeleton.frame;
      const flat = this.pose().flatMap(([y, x]) => (y < 0 ? [0, 0, 0] : [x, y, 1]));
      return { version: 1.3, canvas_height: height, canvas_width: width,
        people: [{ pose_keypoints_2d: flat }] };
    }

    // OpenPose's JSON (COCO-18 or BODY_25, its most confident person) -> the pose, in the
    // file's pixels (the page places a pose of another canvas in the frame).
    static fromOpenPose(json, frameJoints = 18) {
      const people = json && Array.isArray(json.people) ? json.people : null;
      if (!people) throw new Error('not an OpenPose JSON file (expected {"people": [...]})');
      const poses = people.map((p) => p && p.pose_keypoints_2d).filter((p) => p && p.length);
      if (!poses.length) throw new Error("no person in the OpenPose JSON file");
      const score = (p) => p.filter((_, k) => k % 3 === 2).reduce((a, b) => a + b, 0);
      const best = poses.reduce((a, b) => (score(b) > score(a) ? b : a));
      if (best.length !== 3 * frameJoints && best.length !== 3 * 25) {
        throw new Error(`pose_keypoints_2d: expected ${3 * frameJoints} (COCO-18) or 75 ` +
          `(BODY_25) numbers, got ${best.length}`);
      }
      const joints = [];
      for (let k = 0; k < best.length; k += 3) joints.push(best.slice(k, k + 3));
      const coco = joints.length === 25 ? BODY25_TO_COCO18.map((k) => joints[k]) : joints;
      return coco.map(([x, y, c]) => (c > 0 ? [y, x] : [MISSING, MISSING]));
    }

    update() {
      const { limbs } = this.skeleton;
      this.circles.forEach((circle, i) => {
        circle.setAttribute("cx", this.points[i][1]);
        circle.setAttribute("cy", this.points[i][0]);
        circle.setAttribute("fill-opacity", this.missing[i] ? 0 : 1);
      });
      this.lines.forEach((line, k) => {
        const [a, b] = limbs[k];
        line.setAttribute("x1", this.points[a][1]);
        line.setAttribute("y1", this.points[a][0]);
        line.setAttribute("x2", this.points[b][1]);
        line.setAttribute("y2", this.points[b][0]);
        line.style.display = this.missing[a] || this.missing[b] ? "none" : "";
      });
    }

    toFrame(event) {
      const [height, width] = this.skeleton.frame;
      const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(
        this.svg.getScreenCTM().inverse());
      return [Math.min(Math.max(point.y, 0), height - 1), Math.min(Math.max(point.x, 0), width - 1)];
    }

    element(name, attributes, parent) {
      const node = document.createElementNS(SVG, name);
      Object.entries(attributes).forEach(([k, v]) => node.setAttribute(k, v));
      if (parent) parent.appendChild(node);
      return node;
    }

    draw() {
      const { frame, names, limbs, colors } = this.skeleton;
      const [height, width] = frame;
      const radius = Math.max(height, width) / 45;
      const svg = this.element("svg", {
        viewBox: `-${radius} -${radius} ${width + 2 * radius} ${height + 2 * radius}` });
      this.svg = svg;
      if (this.background) {
        this.element("image", { href: this.background, width, height, opacity: 0.6,
          preserveAspectRatio: "none" }, svg);
      }
      this.element("rect", { width, height, fill: "none", stroke: "#555" }, svg);
      this.lines = limbs.map((_, k) => this.element("line", {
        stroke: colors[k % colors.length], "stroke-width": radius / 1.5 }, svg));
      this.circles = names.map((name, i) => {
        const circle = this.element("circle", { r: radius, fill: colors[i], stroke: colors[i],
          "stroke-width": radius / 3 }, svg);
        circle.dataset.joint = i;
        this.element("title", {}, circle).textContent = name;
        let before = null; // the pose as the press found it: history, if the joint moves
        circle.addEventListener("pointerdown", (event) => {
          circle.setPointerCapture(event.pointerId);
          before = this.snapshot();
          event.preventDefault();
        });
        circle.addEventListener("pointermove", (event) => {
          if (!circle.hasPointerCapture(event.pointerId)) return;
          this.points[i] = this.toFrame(event);
          this.missing[i] = false;
          this.update();
        });
        const release = (event) => {
          if (circle.hasPointerCapture(event.pointerId)) circle.releasePointerCapture(event.pointerId);
          const moved = before && (before.points[i][0] !== this.points[i][0]
            || before.points[i][1] !== this.points[i][1] || before.missing[i] !== this.missing[i]);
          if (moved) { // not a click, nor the first half of a double-click
            this.history.push(before);
            this.future = [];
            this.onChange(this.pose());
          }
          before = null;
        };
        circle.addEventListener("pointerup", release);
        circle.addEventListener("pointercancel", release);
        circle.addEventListener("dblclick", () => this.toggle(i));
        return circle;
      });
      this.host.replaceChildren(svg);
      this.update();
    }
  }

  window.DptnJointEditor = JointEditor;
})();
