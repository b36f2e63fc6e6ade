"""One writer per directory: a second process is refused with the holder's PID and start time,
a killed holder never blocks, and the killed writer's temporaries go at the next start."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from dptn_tf.files.atomic import atomic_path, remove_leftovers
from dptn_tf.files.directory_lock import (
    LOCK_NAME,
    DirectoryInUseError,
    exclusive_directory,
)

HOLD = textwrap.dedent("""
    import sys, time
    from dptn_tf.files.atomic import atomic_path
    from dptn_tf.files.directory_lock import exclusive_directory

    with exclusive_directory(sys.argv[1], "holder.py"):
        with atomic_path(sys.argv[1] + "/result.bin") as temporary:
            temporary.write_bytes(b"half")
            print("holding", flush=True)
            time.sleep(120)
""")


def test_a_second_writer_is_refused_and_a_killed_one_never_blocks(tmp_path):
    folder = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(DirectoryInUseError) as refused:
            with exclusive_directory(folder, "second"):
                pass
        message = str(refused.value)
        assert f"holder.py (PID {holder.pid} on " in message and ", started 20" in message
        assert str(folder) in message
        leftover = [p.name for p in folder.iterdir() if p.name != LOCK_NAME]
        assert len(leftover) == 1 and leftover[0].startswith(".result.tmp-")  # still its own
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert holder.returncode == -signal.SIGKILL

    with exclusive_directory(folder, "next") as removed:  # the dead holder's lock is gone
        assert [p.name for p in removed] == leftover
        assert f"next (PID {os.getpid()} " in (folder / LOCK_NAME).read_text()
    assert list(folder.iterdir()) == []  # a holder that ends deletes its lock file


def test_the_lock_is_released_when_the_block_raises(tmp_path):
    with pytest.raises(OSError, match="disk full"):
        with exclusive_directory(tmp_path, "first"):
            raise OSError("disk full")
    with exclusive_directory(tmp_path, "second"):
        pass


def test_only_atomic_path_temporaries_count_as_leftovers(tmp_path):
    keep = [
        ".hidden",
        "model.tmp",
        ".a.tmp-1234",
        ".a.tmp-0123456789",
        "b.tmp-01234567.png",
        "notes.txt",
    ]
    gone = [".generator.tmp-0a1b2c3d.keras", ".7.tmp-deadbeef", ".step-0000002.tmp-01234567.png"]
    for name in keep + gone:
        (tmp_path / name).write_text("x")
    (tmp_path / ".3.tmp-abcdef01").mkdir()  # an export version's directory
    (tmp_path / ".3.tmp-abcdef01" / "saved_model.pb").write_text("x")
    removed = remove_leftovers(tmp_path)
    assert sorted(p.name for p in removed) == sorted([*gone, ".3.tmp-abcdef01"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep)


def test_atomic_path_leaves_nothing_when_the_writer_fails(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "file.json") as temporary:
            temporary.write_text("{")
            raise RuntimeError
    assert list(tmp_path.iterdir()) == []
