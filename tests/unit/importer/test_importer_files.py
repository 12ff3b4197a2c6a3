"""Finding image files, hashing them and tallying a run: no server needed."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from photostore.importer.hashing import sha256_file
from photostore.importer.summary import FileResult, Outcome, summarize
from photostore.importer.walker import find_images, is_image_name


def test_image_names_are_recognised_by_extension_in_any_case() -> None:
    for name in ("a.jpg", "b.JPEG", "c.Png", "d.webp", "e.HEIC", "f.heif", "g.tar.jpg"):
        assert is_image_name(name), name
    for name in ("notes.txt", "jpg", ".jpg", "a.jpg.txt", "a.gif", "a.tiff", "Makefile"):
        assert not is_image_name(name), name


def test_the_walk_finds_images_recursively_in_sorted_order(tmp_path: Path) -> None:
    for relative in ("b/z.PNG", "b/a.jpg", "a.jpeg", "c/d/e/deep.webp", "c/readme.txt", "x.gif"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (tmp_path / "folder.jpg").mkdir()  # a folder with an image's name is not a file

    found = find_images(tmp_path)

    assert [p.relative_to(tmp_path).as_posix() for p in found.files] == [
        "a.jpeg",
        "b/a.jpg",
        "b/z.PNG",
        "c/d/e/deep.webp",
    ]
    assert found.unreadable == []


def test_the_walk_does_not_follow_links_to_folders(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "one.jpg").write_bytes(b"x")
    os.symlink(tmp_path, tmp_path / "photos" / "loop")
    os.symlink(tmp_path / "photos" / "one.jpg", tmp_path / "link.jpg")

    found = find_images(tmp_path)

    assert [p.relative_to(tmp_path).as_posix() for p in found.files] == [
        "link.jpg",
        "photos/one.jpg",
    ]


def test_the_walk_reports_a_root_that_cannot_be_listed(tmp_path: Path) -> None:
    found = find_images(tmp_path / "missing")

    assert found.files == []
    assert [p.name for p, _ in found.unreadable] == ["missing"]


def test_the_file_hash_is_the_sha256_of_all_its_bytes(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # several read chunks, the last one short
    path = tmp_path / "big.jpg"
    path.write_bytes(data)

    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_the_summary_counts_outcomes_and_lists_files_not_stored() -> None:
    results = [
        FileResult("b.jpg", Outcome.UPLOADED, "1" * 64, "id-b"),
        FileResult("a.jpg", Outcome.ALREADY_STORED, "2" * 64, "id-a"),
        FileResult("z.png", Outcome.REJECTED, "3" * 64, reason="415 unsupported_image: not"),
        FileResult("c.png", Outcome.FAILED, "4" * 64, reason="ConnectError"),
        FileResult("d.png", Outcome.UPLOADED, "5" * 64, "id-d"),
    ]

    summary = summarize(results)

    assert summary.exit_code == 1
    assert [r.path for r in summary.problems] == ["c.png", "z.png"]
    assert summary.lines() == [
        "uploaded 2, already stored 1, rejected 1, failed 1",
        "  failed: c.png: ConnectError",
        "  rejected: z.png: 415 unsupported_image: not",
    ]
    event = summary.as_event()
    assert event["event"] == "summary"
    assert (event["uploaded"], event["already_stored"], event["rejected"]) == (2, 1, 1)
    assert event["problems"][1] == {
        "path": "z.png",
        "outcome": "rejected",
        "reason": "415 unsupported_image: not",
    }


def test_a_run_with_every_file_stored_exits_zero() -> None:
    summary = summarize(
        [
            FileResult("a.jpg", Outcome.ALREADY_STORED, "2" * 64, "id-a"),
            FileResult("b.jpg", Outcome.WOULD_UPLOAD, "1" * 64),
        ]
    )

    assert summary.exit_code == 0
    assert summary.lines() == [
        "uploaded 0, already stored 1, rejected 0, failed 0, would upload 1 (dry run)"
    ]


def test_a_file_event_leaves_out_what_is_unknown() -> None:
    assert FileResult("a.jpg", Outcome.FAILED, reason="Permission denied").as_event() == {
        "event": "failed",
        "path": "a.jpg",
        "reason": "Permission denied",
    }
