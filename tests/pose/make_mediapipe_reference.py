"""Write `mediapipe_landmarks.json`: what MediaPipe itself finds on the test photos.

Run OUTSIDE the project's environment (mediapipe==0.10.21 pins protobuf<5, which TensorFlow 2.21
cannot live with), in a throwaway virtual environment:

    python3.11 -m venv /tmp/mp && /tmp/mp/bin/pip install mediapipe==0.10.21 scikit-image
    /tmp/mp/bin/python tests/pose/make_mediapipe_reference.py \
        build/test-photos/ultralytics-8.4.190-py3-none-any.whl

It runs MediaPipe Pose on still images (static_image_mode, model_complexity 1: the
pose_landmark_full model) and stores, per photo, the 33 landmarks as (y, x) pixels and their
visibility, rounded to 0.01.
"""

import io
import json
import sys
import zipfile
from pathlib import Path

import mediapipe as mp
import numpy as np
import skimage.data
from PIL import Image


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        bus = np.asarray(
            Image.open(io.BytesIO(archive.read("ultralytics/assets/bus.jpg"))).convert("RGB")
        )
    reference = {}
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        for name, image in (("astronaut.png", skimage.data.astronaut()), ("bus.jpg", bus)):
            height, width = image.shape[:2]
            landmarks = pose.process(image).pose_landmarks.landmark
            reference[name] = [
                [round(p.y * height, 2), round(p.x * width, 2), round(p.visibility, 4)]
                for p in landmarks
            ]
    out = Path(__file__).with_name("mediapipe_landmarks.json")
    out.write_text(json.dumps({"mediapipe": mp.__version__, "landmarks": reference}) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1])
