"""The demo's handlers and its Gradio page.

`PoseTransferDemo` holds what is loaded once (the model, BlazePose, the gallery's poses) and
answers each event with plain values; the page only wires them to components. Every error a
visitor can cause (a file that is no image or too large, nobody in it, joints outside the frame,
a server that does not answer) comes back as a message in the page, and the app keeps serving.
"""

import json
import os
import threading
import time
from importlib import resources
from pathlib import Path

import numpy as np

from dptn_tf.config import CONFIG_NAME, GENERATOR_NAME, resolve_relative
from dptn_tf.data import annotation_path, read_annotations
from dptn_tf.inference.photo_transfer import placed_in_frame, transfer_found
from dptn_tf.inference.tensorflow_models import GeneratorModel, SavedModel, attention_in_source
from dptn_tf.pose import (
    JOINT_NAMES,
    MISSING,
    NUM_JOINTS,
    BlazePose,
    editor_skeleton,
    read_photo,
    resize_uint8,
)
from dptn_tf.pose.blazepose import VISIBILITY_THRESHOLD
from dptn_tf.serving.rest_client import RestModel, ServingError
from dptn_tf.visualization import draw_skeleton
from dptn_tf.web import GALLERY_SIZE

DISPLAY_SIDE = 768  # photos are shown with their skeleton at most this large
DISPLAY_HEIGHT = 256  # frame-sized pictures (skeleton, attention) are enlarged to this
MAX_UPLOAD = "40mb"  # a 4096x4096 photo (the pixel limit) as PNG fits
# What a visitor can get wrong, or a server can: answered in the page.
VISITOR_ERRORS = (OSError, ValueError, ServingError)


def load_demo(args) -> "PoseTransferDemo":
    """The model of the command line, BlazePose and the gallery's poses, loaded once.

    The gallery is the test split of a `.keras` model's data set unless `--annotations` names
    a CSV; a relative `data.root` is found as `dptn_tf.config.resolve_relative` says, so
    `dptn-demo --run runs/synthetic` finds the quickstart's data from any working directory."""
    if args.run:
        model = GeneratorModel(args.run / GENERATOR_NAME, args.run / CONFIG_NAME, [])
    elif args.generator:
        model = GeneratorModel(args.generator, args.config, [])
    elif args.saved_model:
        model = SavedModel(args.saved_model)
    else:
        model = RestModel(args.serving_url, args.frame)
    annotations, poses = args.annotations, {}
    if annotations is not None:
        poses = read_annotations(annotations)
    elif isinstance(model, GeneratorModel):  # the test split of its data set, if it is here
        root = resolve_relative(model.data.root, model.config_path)
        annotations = Path(annotation_path(root, "test", model.data.prefix))
        poses = read_annotations(annotations) if annotations.is_file() else {}
    return PoseTransferDemo(model, BlazePose(args.weights_dir), poses, str(annotations or ""))


def _pose_json(pose) -> str:
    return json.dumps([[round(float(y), 1), round(float(x), 1)] for y, x in pose])


class PoseTransferDemo:
    """The loaded model, BlazePose and gallery, and one method per page event."""

    def __init__(
        self,
        model,
        extractor: BlazePose,
        poses: dict,
        annotations: str = "",
        visibility: float = VISIBILITY_THRESHOLD,
    ):
        self.model, self.extractor, self.visibility = model, extractor, visibility
        self.frame = tuple(model.frame)
        names = sorted(poses)[:GALLERY_SIZE]
        self.gallery = [(name, np.asarray(poses[name], np.float64)) for name in names]
        self.annotations = annotations
        self._pose_lock = threading.Lock()  # a TF Lite interpreter serves one call at a time

    # What is loaded --------------------------------------------------------------------------

    @property
    def has_attention(self) -> bool:
        return isinstance(self.model, GeneratorModel) and self.model.has_attention

    def attention_unavailable(self) -> str:
        """Why a click on the result shows no attention map."""
        if isinstance(self.model, GeneratorModel):
            return "This generator has no Pose Transformer Module, so no attention maps."
        return "Attention maps need a .keras model (--run or --generator)."

    def describe(self) -> str:
        kind = {
            GeneratorModel: "a .keras generator",
            SavedModel: "a SavedModel",
            RestModel: "a model on TF Serving",
        }[type(self.model)]
        gallery = (
            f"{len(self.gallery)} poses of `{self.annotations}`"
            if self.gallery
            else "no gallery (give --annotations, a PATN annotation CSV)"
        )
        if self.has_attention:
            attention = "click a point of the result to see where the last TTB looks in the source"
        else:
            message = self.attention_unavailable()
            attention = message[0].lower() + message[1:].rstrip(".")
        return (
            f"Model: {kind}, frame {self.frame[0]}x{self.frame[1]}; gallery: {gallery}; "
            f"{attention}."
        )

    def gallery_pictures(self) -> list:
        return [(draw_skeleton(pose, self.frame, radius=2), name) for name, pose in self.gallery]

    # Events ----------------------------------------------------------------------------------

    def person(self, photo, name: str):
        """A path, bytes or uint8 array -> (upright photo, its keypoints)."""
        if photo is None:
            raise ValueError(f"{name}: no photo given")
        photo = read_photo(photo, name) if isinstance(photo, (str, bytes, Path)) else photo
        photo = np.ascontiguousarray(np.asarray(photo, np.uint8)[..., :3])
        with self._pose_lock:
            return photo, self.extractor.keypoints(photo, self.visibility, name)

    def use_source(self, photo, name: str = "your photo"):
        """The source photo -> (photo with its skeleton, session state, its pose in the frame
        as JSON, message); on bad input (None, None, None, message)."""
        try:
            photo, keypoints = self.person(photo, name)
            pose = placed_in_frame(keypoints, self.frame, photo.shape[:2])
        except VISITOR_ERRORS as error:
            return None, None, None, f"**Source:** {error}"
        present = int(np.all(keypoints != MISSING, axis=-1).sum())
        return (
            _overlay(photo, keypoints),
            {"photo": photo, "keypoints": keypoints},
            _pose_json(pose),
            f"Source: found {present} of {NUM_JOINTS} joints.",
        )

    def use_pose_photo(self, photo, name: str = "the pose photo"):
        """A photo of the target pose -> (photo with its skeleton, pose JSON, message)."""
        try:
            photo, keypoints = self.person(photo, name)
            pose = placed_in_frame(keypoints, self.frame, photo.shape[:2])
        except VISITOR_ERRORS as error:
            return None, None, f"**Target photo:** {error}"
        return _overlay(photo, keypoints), _pose_json(pose), "Target pose: from the photo."

    def use_gallery_pose(self, index: int):
        """Gallery thumbnail `index` -> (pose JSON, message)."""
        name, pose = self.gallery[index]
        return _pose_json(pose), f"Target pose: `{name}` of the gallery."

    def generate(self, state, pose_json: str):
        """(session state, target pose JSON) -> (result, target skeleton, message)."""
        if not state:
            return None, None, "**Generate:** give a photo of a person first."
        started = time.perf_counter()
        try:
            pose = self.parse_pose(pose_json)
            result = transfer_found(self.model, state["photo"], state["keypoints"], pose)
        except VISITOR_ERRORS as error:
            return None, None, f"**Generate:** {error}"
        state["pose"] = pose
        seconds = time.perf_counter() - started
        return result, _skeleton_picture(pose, self.frame), f"Generated in {seconds:.2f} s."

    def attention(self, state, point):
        """(session state, clicked `(x, y)` of the result) -> (source tinted where the last TTB
        looks, message)."""
        if not self.has_attention:
            return None, self.attention_unavailable()
        if not state or "pose" not in state:
            return None, "Generate a result first, then click on it."
        x, y = point
        try:
            picture = attention_in_source(
                self.model, state["photo"], state["keypoints"], state["pose"], (y, x)
            )
        except VISITOR_ERRORS as error:
            return None, f"**Attention:** {error}"
        return _enlarged(picture), (
            f"Where the last TTB looks in the source for ({x}, {y}) of the result."
        )

    def parse_pose(self, text: str) -> np.ndarray:
        """The editor's JSON -> float `[18, 2]` in the frame; refuses joints outside it."""
        try:
            pose = np.asarray(json.loads(text or "null"), np.float64)
        except (ValueError, TypeError):
            raise ValueError("the target pose is not JSON of 18 [y, x] pairs") from None
        if pose.shape != (NUM_JOINTS, 2):
            raise ValueError(
                f"the target pose needs {NUM_JOINTS} [y, x] pairs, got shape "
                f"{pose.shape}; pick a pose first"
            )
        present = np.all(pose != MISSING, axis=-1)
        outside = present & np.any((pose < 0) | (pose > np.subtract(self.frame, 1)), axis=-1)
        if outside.any():
            names = ", ".join(JOINT_NAMES[i] for i in np.flatnonzero(outside))
            raise ValueError(
                f"joints outside the {self.frame[0]}x{self.frame[1]} frame: "
                f"{names}; a gallery of another data set's frame?"
            )
        return pose

    def launch_options(self, host: str, port: int) -> dict:
        editor = resources.files("dptn_tf.web").joinpath("joint_editor.js").read_text()
        glue = resources.files("dptn_tf.demo").joinpath("editor_glue.js").read_text()
        head = (
            f"<script>window.DPTN_SKELETON = {json.dumps(editor_skeleton(self.frame))};</script>"
            f"<script>{editor}</script><script>{glue}</script>"
        )
        return {
            "server_name": host,
            "server_port": port,
            "head": head,
            "css": CSS,
            "max_file_size": MAX_UPLOAD,
            "share": False,
            "show_error": True,
        }


def _overlay(photo, keypoints) -> np.ndarray:
    """The photo, at most DISPLAY_SIDE pixels a side, with its skeleton."""
    scale = min(1.0, DISPLAY_SIDE / max(photo.shape[:2]))
    size = tuple(max(1, round(s * scale)) for s in photo.shape[:2])
    if scale < 1:
        photo = resize_uint8(photo, size)
        keypoints = np.where(keypoints == MISSING, MISSING, np.asarray(keypoints) * scale)
    return draw_skeleton(keypoints, size, photo, radius=max(2, round(min(size) / 80)), fade=0.3)


def _skeleton_picture(pose, frame) -> np.ndarray:
    """The target skeleton, drawn at least DISPLAY_HEIGHT pixels high."""
    scale = max(1, -(-DISPLAY_HEIGHT // frame[0]))
    pose = np.where(pose == MISSING, MISSING, pose * scale)
    return draw_skeleton(pose, (frame[0] * scale, frame[1] * scale), radius=scale + 1)


def _enlarged(image) -> np.ndarray:
    """A small picture repeated pixel by pixel to at least DISPLAY_HEIGHT pixels high."""
    scale = max(1, -(-DISPLAY_HEIGHT // image.shape[0]))
    return image.repeat(scale, axis=0).repeat(scale, axis=1)


CSS = """
#dptn-joint-editor svg { width: 100%; max-height: 480px; touch-action: none;
                         background: #111; border-radius: 6px; }
#dptn-joint-editor circle { cursor: grab; }
#dptn-result img, #dptn-target img, #dptn-attention img { image-rendering: auto; }
"""


def build_page(demo: PoseTransferDemo):
    """The one page: source, target pose (photo, gallery, editor), result and attention."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    load_editor = "(pose) => { window.dptnJointEditor.load(pose); }"
    with gr.Blocks(title="dptn-tf: pose transfer", analytics_enabled=False) as page:
        session = gr.State(None)
        gr.Markdown(
            "# Pose transfer (DPTN)\nYour photo's person, in any pose: from a second "
            "photo, the gallery, or joints you drag."
        )
        gr.Markdown(demo.describe())
        status = gr.Markdown("Give a photo of a person.", elem_id="dptn-status")
        with gr.Row():
            with gr.Column():
                source_file = gr.File(
                    label="Your photo (JPEG or PNG)",
                    file_types=["image"],
                    type="filepath",
                    elem_id="dptn-source-file",
                )
                webcam = gr.Image(label="... or your webcam", sources=["webcam"], type="numpy")
                source_view = gr.Image(
                    label="Keypoints found (BlazePose)",
                    interactive=False,
                    elem_id="dptn-source-view",
                )
            with gr.Column():
                gallery = gr.Gallery(
                    demo.gallery_pictures(),
                    label="Gallery of poses",
                    columns=4,
                    height=260,
                    allow_preview=False,
                    elem_id="dptn-gallery",
                )
                pose_file = gr.File(
                    label="... or a photo of the pose",
                    file_types=["image"],
                    type="filepath",
                    elem_id="dptn-pose-file",
                )
                pose_view = gr.Image(label="Pose found", interactive=False, height=200)
            with gr.Column():
                gr.HTML(
                    '<div id="dptn-joint-editor"><p>Pick a pose to edit.</p></div>',
                    label="Target pose: drag the joints; double-click one to mark it "
                    "missing (or back)",
                )
                with gr.Row():
                    from_source = gr.Button("Start from my pose", size="sm")
                    undo = gr.Button("Undo", size="sm", elem_id="dptn-undo")
                    redo = gr.Button("Redo", size="sm", elem_id="dptn-redo")
                    mirror = gr.Button("Mirror", size="sm", elem_id="dptn-mirror")
                    reset = gr.Button("Reset", size="sm", elem_id="dptn-reset")
                target_pose = gr.Textbox(
                    label="Target pose: 18 [y, x] in the frame, -1 missing",
                    lines=2,
                    elem_id="dptn-target-pose",
                )
                generate = gr.Button("Generate", variant="primary", elem_id="dptn-generate")
        with gr.Row():
            target_view = gr.Image(
                label="Target skeleton", interactive=False, height=320, elem_id="dptn-target"
            )
            result = gr.Image(
                label="Result (click a point: attention)",
                interactive=False,
                format="png",
                height=320,
                buttons=["download"],
                elem_id="dptn-result",
            )
            attention = gr.Image(
                label="Where the last TTB looks in the source",
                interactive=False,
                height=320,
                elem_id="dptn-attention",
            )

        source_pose = gr.State(None)

        # A bad photo keeps the last good one. The upload boxes empty themselves after each
        # file, ready for the next one; the photo is shown with its skeleton.
        def on_source(photo):
            view, state, pose, message = demo.use_source(photo)
            if state is None:
                return gr.update(), gr.update(), gr.update(), message
            return view, state, pose, message

        source_outputs = [source_view, session, source_pose, status]
        source_file.upload(
            lambda path: (*on_source(path), None),
            [source_file],
            [*source_outputs, source_file],
            api_name="source",
        )
        webcam.input(on_source, [webcam], source_outputs, api_name=False)

        def on_pose_photo(photo):
            view, pose, message = demo.use_pose_photo(photo)
            return view, (pose if pose else gr.update()), message, None

        pose_file.upload(
            on_pose_photo, [pose_file], [pose_view, target_pose, status, pose_file], api_name=False
        ).then(None, [target_pose], None, js=load_editor)

        def on_gallery(event: gr.SelectData):
            return demo.use_gallery_pose(event.index)

        gallery.select(on_gallery, None, [target_pose, status], api_name=False).then(
            None, [target_pose], None, js=load_editor
        )
        from_source.click(
            lambda pose: pose or gr.update(), [source_pose], [target_pose], api_name=False
        ).then(None, [target_pose], None, js=load_editor)
        mirror.click(None, None, None, js="() => { window.dptnJointEditor.mirror(); }")
        reset.click(None, None, None, js="() => { window.dptnJointEditor.reset(); }")
        undo.click(None, None, None, js="() => { window.dptnJointEditor.undo(); }")
        redo.click(None, None, None, js="() => { window.dptnJointEditor.redo(); }")
        target_pose.blur(None, [target_pose], None, js=load_editor)

        generate.click(
            demo.generate,
            [session, target_pose],
            [result, target_view, status],
            api_name="generate",
        )

        def on_click(state, event: gr.SelectData):
            return demo.attention(state, event.index)

        result.select(on_click, [session], [attention, status], api_name=False)
        if demo.gallery:
            page.load(
                lambda: demo.use_gallery_pose(0)[0], None, [target_pose], api_name=False
            ).then(None, [target_pose], None, js=load_editor)
    return page
