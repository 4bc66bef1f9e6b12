"""Discovery: ``**`` globs, excludes and rotated names."""

from __future__ import annotations

from shipper.sources.globs import (
    PathMatcher,
    asks_for_rotated,
    is_rotated_name,
    translate,
)


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x\n")


def test_double_star_matches_any_depth_including_none(tmp_path):
    """``**/*.log`` finds files at the top and in nested directories, sorted."""
    for rel in ["a.log", "x/b.log", "x/y/z/c.log", "x/skip.txt"]:
        touch(tmp_path / rel)
    found = PathMatcher((str(tmp_path / "**" / "*.log"),)).scan()
    assert found == sorted(str(tmp_path / r) for r in ["a.log", "x/b.log", "x/y/z/c.log"])


def test_rotated_names_are_skipped_unless_asked_for(tmp_path):
    """app.log.1, dated and .gz names are not read by ``*``, but are by ``*.gz``."""
    names = ["app.log", "app.log.1", "0.log.20260102-103015", "0.log.20260102-103015.gz",
             "app.log-20260102"]
    for name in names:
        touch(tmp_path / name)
    assert PathMatcher((str(tmp_path / "*"),)).scan() == [str(tmp_path / "app.log")]
    assert PathMatcher((str(tmp_path / "*.gz"),)).scan() == [
        str(tmp_path / "0.log.20260102-103015.gz")]


def test_rotation_name_rules():
    """The rotated-name and "glob asks" heuristics on typical names."""
    assert is_rotated_name("/x/app.log.1") and is_rotated_name("/x/a.log.20260102-103015")
    assert not is_rotated_name("/x/app.log") and not is_rotated_name("/x/stage.log")
    assert asks_for_rotated("/x/*.gz") and asks_for_rotated("/x/*.log.*")
    assert not asks_for_rotated("/x/**/*.log") and not asks_for_rotated("/x/*")


def test_exclude_by_path_and_by_name(tmp_path):
    """Excludes with a slash match the full path, without one the file name."""
    for rel in ["keep.log", "debug/drop.log", "noise.log"]:
        touch(tmp_path / rel)
    matcher = PathMatcher((str(tmp_path / "**" / "*.log"),),
                          ("**/debug/*.log", "noise.*"))
    assert matcher.scan() == [str(tmp_path / "keep.log")]


def test_translate_keeps_single_star_within_a_segment():
    """``*`` never crosses a ``/``; ``**/`` may match nothing."""
    assert translate("/a/*.log").match("/a/b.log")
    assert not translate("/a/*.log").match("/a/x/b.log")
    assert translate("/a/**/b.log").match("/a/b.log")
    assert translate("/a/[!x]?.log").match("/a/yz.log")


def test_root_prefixes_absolute_globs(tmp_path):
    """With ``root`` set, ``/var/log/...`` is looked up under that directory."""
    touch(tmp_path / "var/log/app/a.log")
    matcher = PathMatcher(("/var/log/**/*.log",), root=str(tmp_path))
    assert matcher.scan() == [str(tmp_path / "var/log/app/a.log")]


def test_would_follow_is_what_the_scan_keeps(tmp_path):
    """``would_follow`` (a name made and renamed between two looks) and ``scan`` apply the
    one filter: every regular file of a tree with rotated names, a glob that asks for
    them, excludes by path and by name, is followed by one exactly when the scan finds it."""
    rels = ["app.log", "app.log.1", "app.log-20260102", "x/b.log", "x/b.log.2.gz",
            "debug/drop.log", "noise.log", "noise.log.1", "keep.txt", "x/old.gz"]
    for rel in rels:
        touch(tmp_path / rel)
    matcher = PathMatcher((str(tmp_path / "**" / "*.log"), str(tmp_path / "x" / "*.gz")),
                          ("**/debug/*.log", "noise.*"))
    found = matcher.scan()
    assert found == sorted(str(tmp_path / r) for r in ["app.log", "x/b.log", "x/b.log.2.gz",
                                                        "x/old.gz"])
    assert [str(tmp_path / r) for r in sorted(rels)
            if matcher.would_follow(str(tmp_path / r))] == found
