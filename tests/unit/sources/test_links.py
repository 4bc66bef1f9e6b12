"""Symbolic links: the follow policy, safe opening, and the directory walk."""

from __future__ import annotations

import errno
import glob
import os
import random
import threading

import pytest

from shipper.sources.globs import PathMatcher, is_rotated_name
from shipper.sources.links import NOT_FOLLOWED, OUTSIDE_ROOTS, LinkPolicy, RefusedPath


@pytest.fixture
def tree(tmp_path):
    """logs/ (the root) with a plain file, links inside and outside, and secrets/."""
    logs, secrets = tmp_path / "logs", tmp_path / "secrets"
    (logs / "sub").mkdir(parents=True)
    secrets.mkdir()
    (logs / "app.log").write_text("app\n")
    (logs / "sub" / "real.txt").write_text("inside\n")
    (secrets / "token").write_text("secret\n")
    (secrets / "inner.log").write_text("secret\n")
    os.symlink(logs / "sub" / "real.txt", logs / "inside.log")
    os.symlink(secrets / "token", logs / "token.log")
    os.symlink(secrets, logs / "linked")
    return logs


def test_policy_decides_by_where_the_link_resolves(tree):
    """inside_roots: links resolving under a root only; never: no link; always: all."""
    inside = LinkPolicy("inside_roots", (str(tree),))
    assert inside.refusal(str(tree / "inside.log")) is None
    assert inside.refusal(str(tree / "token.log")) == OUTSIDE_ROOTS
    assert inside.refusal(str(tree / "linked" / "inner.log")) == OUTSIDE_ROOTS
    assert LinkPolicy("never", (str(tree),)).refusal(str(tree / "inside.log")) == NOT_FOLLOWED
    assert LinkPolicy("never", (str(tree),)).refusal(str(tree / "app.log")) is None
    assert LinkPolicy("always", ()).refusal(str(tree / "token.log")) is None
    extra = LinkPolicy("inside_roots", (str(tree), str(tree.parent / "secrets")))
    assert extra.refusal(str(tree / "token.log")) is None


def test_open_refuses_outside_and_reads_inside(tree):
    """open() gives a descriptor of the target inside the roots, RefusedPath outside."""
    policy = LinkPolicy("inside_roots", (str(tree),))
    fd = policy.open(str(tree / "inside.log"))
    try:
        assert os.read(fd, 100) == b"inside\n"
    finally:
        os.close(fd)
    with pytest.raises(RefusedPath) as refused:
        policy.open(str(tree / "token.log"))
    assert refused.value.reason == OUTSIDE_ROOTS


def test_a_link_swapped_in_after_the_check_is_not_followed(tree, monkeypatch):
    """TOCTOU: the path checks out, then a component becomes a link to the secrets
    before the open: the component-wise O_NOFOLLOW open fails instead of following.
    (The path goes through a link inside the root, so it is resolved and checked: a
    path without links is opened without ``realpath``, see the test below.)"""
    from shipper.sources import links

    policy = LinkPolicy("inside_roots", (str(tree),))
    (tree / "d").mkdir()
    (tree / "d" / "token").write_text("fine\n")
    os.symlink(tree / "d", tree / "alias")
    real_realpath = os.path.realpath

    def realpath_then_swap(path, *args, **kwargs):
        resolved = real_realpath(path, *args, **kwargs)
        if path.endswith("token") and (tree / "d").is_dir() and not (tree / "d").is_symlink():
            os.rename(tree / "d", tree / "d.old")
            os.symlink(tree.parent / "secrets", tree / "d")
        return resolved

    monkeypatch.setattr(links.os.path, "realpath", realpath_then_swap)
    with pytest.raises(OSError):
        policy.open(str(tree / "alias" / "token"))
    assert (tree / "d").is_symlink()  # the swap happened between the check and the open


@pytest.mark.parametrize("mode", ["inside_roots", "never"])
def test_a_path_without_links_is_opened_without_realpath(tree, monkeypatch, mode):
    """A plain path below a root opens from the root with O_NOFOLLOW on every component,
    no ``realpath`` (an ``lstat`` a component, the bulk of a small file's open); a link
    on the way (inside or outside the roots) still goes through ``realpath`` and the
    check, and a link swapped in for a directory is never followed."""
    from shipper.sources import links

    resolved: list[str] = []
    real_realpath = os.path.realpath

    def counted(path, *args, **kwargs):
        resolved.append(os.fspath(path))
        return real_realpath(path, *args, **kwargs)

    monkeypatch.setattr(links.os.path, "realpath", counted)
    policy = LinkPolicy(mode, (str(tree),)).pinned()
    resolved.clear()
    fd, st = policy.open_stat(str(tree / "sub" / "real.txt"))
    try:
        assert os.read(fd, 100) == b"inside\n" and st.st_size == 7
    finally:
        os.close(fd)
    assert resolved == []
    with pytest.raises(RefusedPath):
        policy.open_stat(str(tree / "token.log"))
    with pytest.raises(RefusedPath):
        policy.open_stat(str(tree / "linked" / "inner.log"))
    # only the paths with a link on the way are resolved (and, for their check, the
    # roots again: the batch's pinned roots may be stale by then)
    assert [p for p in resolved if p != str(tree)] == [str(tree / "token.log"),
                                                       str(tree / "linked" / "inner.log")]
    os.rename(tree / "sub", tree / "sub.old")
    os.symlink(tree.parent / "secrets", tree / "sub")  # swapped: sub/token is a secret
    with pytest.raises(RefusedPath):
        policy.open_stat(str(tree / "sub" / "token"))


def test_a_file_right_in_its_root_is_opened_in_one_call_and_never_through_a_link(
        tree, monkeypatch):
    """``open_beneath`` of a file right in the root: one ``open`` (the path, ``O_NOFOLLOW``),
    no descriptor of the root; a link in its place is not followed (``ELOOP``), as before,
    and a root of ``/`` makes no ``//``."""
    from shipper.sources import links

    opened: list[str] = []
    real_open = os.open

    def counted(path, *args, **kwargs):
        opened.append(os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(links.os, "open", counted)
    fd = links.open_beneath(str(tree), "app.log")
    try:
        assert os.read(fd, 100) == b"app\n"
    finally:
        os.close(fd)
    assert opened == [str(tree / "app.log")]
    for name in ("inside.log", "token.log"):
        with pytest.raises(OSError) as caught:
            links.open_beneath(str(tree), name)
        assert caught.value.errno == errno.ELOOP
    opened.clear()
    with pytest.raises(OSError):
        links.open_beneath("/", "no-such-file-here.log")
    assert opened == ["/no-such-file-here.log"]


@pytest.mark.parametrize("mode", ["inside_roots", "never"])
@pytest.mark.parametrize("step", [1, 2, 3])
def test_a_link_swapped_in_between_the_walks_steps_is_not_followed(tree, monkeypatch,
                                                                    mode, step):
    """The link-free walk itself raced: before its ``step``-th ``open``, ``a/`` becomes a
    link to the secrets (which hold ``b/x.log`` too). The secret is never read (a refusal,
    or the file the walk already held open), and no descriptor is left behind."""
    from shipper.sources import links

    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "x.log").write_text("fine\n")
    secrets = tree.parent / "secrets"
    (secrets / "b").mkdir()
    (secrets / "b" / "x.log").write_text("secret\n")
    real_open, calls = os.open, [0]

    def swapping_open(path, flags, *args, **kwargs):
        calls[0] += 1
        if calls[0] == step:
            os.rename(tree / "a", tree / "a.old")
            os.symlink(secrets, tree / "a")
        return real_open(path, flags, *args, **kwargs)

    policy = LinkPolicy(mode, (str(tree),)).pinned()
    before = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(links.os, "open", swapping_open)
    try:
        fd = policy.open(str(tree / "a" / "b" / "x.log"))
    except OSError:
        pass  # refused, or the walk's O_NOFOLLOW open failed on the link
    else:
        try:
            assert os.read(fd, 100) == b"fine\n"
        finally:
            os.close(fd)
    monkeypatch.setattr(links.os, "open", real_open)
    assert (tree / "a").is_symlink()  # the swap happened during the open
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_fifo_in_place_of_a_log_is_refused_without_blocking(tmp_path):
    """open() never blocks on a FIFO and keeps regular files only."""
    fifo = tmp_path / "pipe.log"
    os.mkfifo(fifo)
    outcome: list[object] = []
    opener = threading.Thread(target=lambda: outcome.append(_try_open(str(fifo))))
    opener.start()
    opener.join(5)
    assert not opener.is_alive() and isinstance(outcome[0], OSError)


def _try_open(path: str) -> object:
    try:
        return LinkPolicy("always").open(path)
    except OSError as exc:
        return exc


def test_walk_refuses_links_and_notes_them(tree):
    """``**`` does not walk through a directory link out of the root; the refused
    links are noted with their reason; the link inside is matched."""
    refused: dict[str, str] = {}
    found = PathMatcher((str(tree / "**" / "*.log"),)).scan(refused)
    assert found == [str(tree / "app.log"), str(tree / "inside.log")]
    assert refused == {str(tree / "token.log"): OUTSIDE_ROOTS,
                       str(tree / "linked"): OUTSIDE_ROOTS}
    always = PathMatcher((str(tree / "**" / "*.log"),), follow_symlinks="always").scan()
    assert str(tree / "linked" / "inner.log") in always


def test_walk_ends_on_link_loops(tmp_path):
    """``loop -> .`` and ``a/up -> ..``: each directory is entered once per segment."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.log").write_text("x\n")
    os.symlink(".", tmp_path / "loop")
    os.symlink("..", tmp_path / "a" / "up")
    found = PathMatcher((str(tmp_path / "**" / "*.log"),)).scan()
    assert found == [str(tmp_path / "a" / "x.log")]


def test_walk_matches_glob_on_a_tree_without_links(tmp_path):
    """Same matches as ``glob.iglob(recursive=True)`` for many patterns on a random
    tree with hidden names (the walk replaced it)."""
    rng = random.Random(7)
    names = ["a", "b", ".h", "c.d", "x"]
    for _ in range(60):
        depth = rng.randint(0, 3)
        parts = [rng.choice(names) for _ in range(depth)]
        directory = tmp_path.joinpath(*parts)
        if any(p.exists() and not p.is_dir() for p in [directory, *directory.parents]):
            continue
        directory.mkdir(parents=True, exist_ok=True)
        leaf = directory / (rng.choice(names) + rng.choice([".log", ".txt", ""]))
        if not leaf.is_dir():
            leaf.write_text("x\n")
    patterns = ["**/*.log", "*", "**", "*/*.log", "**/a/*", ".*", "**/.h/*", "[ab]/**/*.log",
                "a/?.log", "**/c.d"]
    for pattern in patterns:
        full = str(tmp_path / pattern)
        want = sorted(p for p in set(glob.iglob(full, recursive=True)) if os.path.isfile(p))
        got = PathMatcher((full,), follow_symlinks="always").scan()
        assert got == [p for p in want if not is_rotated_name(p)], pattern


async def test_a_followed_file_replaced_by_a_link_out_is_not_read(tmp_path, follow):
    """app.log is followed, then replaced by a link to a file outside the root: the old
    file is read to its end, the link's target never."""
    import asyncio

    logs, secrets = tmp_path / "logs", tmp_path / "secrets"
    logs.mkdir()
    secrets.mkdir()
    (secrets / "token").write_text("secret\n")
    (logs / "app.log").write_text("one\n")
    async with follow([str(logs / "*.log")]) as run:
        await run.out.wait_lines(1)
        with open(logs / "app.log", "a") as fh:
            fh.write("two\n")
        os.rename(logs / "app.log", logs / "old")
        os.symlink(secrets / "token", logs / "app.log")
        await run.out.wait_lines(2)
        await asyncio.sleep(0.5)
    assert run.out.lines() == [b"one", b"two"]
    assert run.metrics.value("shipper_files_refused_total", reason=OUTSIDE_ROOTS) == 1


def test_roots_are_pinned_for_one_batch_only(tmp_path):
    """A root that is itself a link (trusted config) is resolved when a batch of opens
    starts (``fileset.open_all``): pointed elsewhere between two batches, the next batch
    opens the files of its new target; within a batch the pinned target stays."""
    from shipper.sources.fileset import open_all

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.log").write_text(f"{name}\n")
    root = tmp_path / "current"
    os.symlink(tmp_path / "a", root)
    policy = LinkPolicy("inside_roots", (str(root),))
    pinned = policy.pinned()

    def read_all() -> list[bytes]:
        opened = open_all([str(root / "x.log")], 1024, policy)
        try:
            return [os.pread(f.fd, 10, 0) for _, f, _ in opened]
        finally:
            for _, f, _ in opened:
                f.close()

    assert read_all() == [b"a\n"]
    os.unlink(root)
    os.symlink(tmp_path / "b", root)
    assert read_all() == [b"b\n"]
    assert pinned.resolved_roots() == [str(tmp_path / "a")]  # pinned before the change
    assert policy.resolved_roots() == [str(tmp_path / "b")]
