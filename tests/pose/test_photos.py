"""`read_photo`: upright as the EXIF tag says, limits checked from the header, no TensorFlow."""

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dptn_tf.pose import read_photo

# EXIF orientation 6: the stored pixels are the upright picture turned 90 degrees
# counter-clockwise; a viewer turns them clockwise.
ROTATE_90_CLOCKWISE_TO_VIEW = 6


def _upright() -> np.ndarray:
    rng = np.random.default_rng(0)
    image = np.zeros((40, 24, 3), np.uint8)
    image[:10] = 255  # a white band at the top of the upright picture
    return image + rng.integers(0, 20, image.shape, dtype=np.uint8)


def _png(image: np.ndarray, orientation: int | None = None) -> bytes:
    buffer = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    Image.fromarray(image).save(buffer, "PNG", exif=exif)
    return buffer.getvalue()


def test_a_photo_stored_sideways_reads_upright(tmp_path):
    upright = _upright()
    stored = np.rot90(upright, k=1)  # what the phone wrote: turned counter-clockwise
    path = tmp_path / "sideways.png"
    path.write_bytes(_png(stored, ROTATE_90_CLOCKWISE_TO_VIEW))
    np.testing.assert_array_equal(read_photo(path), upright)
    np.testing.assert_array_equal(read_photo(path.read_bytes()), upright)


def test_a_photo_without_a_tag_reads_as_stored(tmp_path):
    path = tmp_path / "plain.png"
    path.write_bytes(_png(_upright()))
    np.testing.assert_array_equal(read_photo(path), _upright())


def test_bad_photos_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jpg: file not found"):
        read_photo(tmp_path / "missing.jpg")
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    with pytest.raises(ValueError, match="notes.jpg: not a readable image"):
        read_photo(text)
    with pytest.raises(ValueError, match="upload: not a readable image"):
        read_photo(_png(_upright())[:40], name="upload")


def test_a_photo_over_the_pixel_limit_is_refused_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(_png(_upright()))
    with pytest.raises(ValueError, match=r"big.png: 24x40 pixels is over the limit of 959"):
        read_photo(path, max_pixels=959)
    assert read_photo(path, max_pixels=960).shape == (40, 24, 3)


def test_reading_photos_loads_no_tensorflow():
    probe = (
        "import sys; from dptn_tf.pose import read_photo, person_window, BlazePose; "
        "print('tensorflow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "False"
