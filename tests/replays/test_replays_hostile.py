"""Replays built to freeze or exhaust the reader: long runs of the characters
that make patterns backtrack, in every text field of every format. Each is
read (or refused with ReplayError) in time linear in its size and with
bounded memory.

A read that takes too long fails on its processor time (:func:`hang_guard`),
one that never ends through the ``timeout`` marker (pytest-timeout): the
reader needs milliseconds for each of these files, the quadratic reader it
replaces needed minutes to days.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile_replays as h
from scoreganizer_client_lib import replays
from scoreganizer_client_lib.replays import ReplayInfo
from scoreganizer_client_lib.replays._text import clone_name, dotted_version, small_number
from scoreganizer_client_lib.replays.testing import write_rmv

MAX = replays.MAX_REPLAY_SIZE
#: The most processor time reading a hostile replay may take: the patterns
#: these tests guard against backtracked for 39 s; a linear read of a megabyte
#: takes under one. Processor time, not the clock's: a loaded machine
#: stretches a test's seconds on the clock (tenfold under CI's parallel runs),
#: not the work it does.
CPU_SECONDS = 5.0


def hang_guard(test: Callable[..., None]) -> Callable[..., None]:
    """``test``, failed if its thread spends :data:`CPU_SECONDS` of processor
    time or more, and stopped after 60 s on the clock (a read that never ends)."""

    @functools.wraps(test)
    def guarded(*args: Any, **kwargs: Any) -> None:
        start = time.thread_time()
        test(*args, **kwargs)
        used = time.thread_time() - start
        assert used < CPU_SECONDS, f"{used:.1f} s of processor time"

    return pytest.mark.timeout(60)(guarded)


def _read(data: bytes) -> ReplayInfo | None:
    try:
        info = replays.inspect(data)
    except replays.ReplayError as exc:
        assert str(exc)
        return None
    assert info.size == len(data)
    assert len(info.game_digest) == 64
    return info


# -- the attacks found on the old reader ---------------------------------------


@hang_guard
def test_avf_version_line_of_digits() -> None:
    # 40,000 digits took 11 s; these 400,000 would have taken about 20 minutes.
    info = _read(h.avf_long_version(400_000))
    assert info is not None and info.player.name == "Tommy" and info.clone_version is None


@hang_guard
def test_rmv_v1_version_field_of_digits() -> None:
    # The most the format allows (65,535 bytes): 30 s. Still keyed and valid.
    info = _read(h.rmv_long_version(65_535))
    assert info is not None
    assert str(info.key) == "2_1_517cce9419171fee58a550067fed65ed"
    assert info.version_info == "7" * 65_535 and info.clone_version is None


@hang_guard
def test_rmv_v1_version_field_of_spaces() -> None:
    # The clone name's pattern backtracked on a run of spaces: 39 s.
    info = _read(h.rmv(h.RMV1, version_info=b"x" + b" " * 65_533 + b"y"))
    assert info is not None and info.clone == info.version_info


@hang_guard
def test_avf_footer_of_carriage_returns_takes_little_memory() -> None:
    # 16 MiB of CRs took 17 times its size (282 MB) in one list of lines.
    data = h.avf_cr_footer(MAX)
    tracemalloc.start()
    try:
        with pytest.raises(replays.TruncatedReplay, match="footer lacks the player name"):
            replays.inspect(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, f"{peak} bytes"


@hang_guard
@pytest.mark.parametrize(
    "data",
    [
        h.evf(software=b"7" * 4096),
        h.evf(identifier=b"1_" * 2048),
        h.evf(start=b"9" * 18),  # after the year 9999
        h.evf(start="\u00b2".encode()),  # a digit to str.isdigit(), not to int()
        h.avf(footer=[*h.AVF_FOOTER_LINES[:2], b"0_0_" + b"0" * 1_000_000, b"1.1"]),
        h.avf(footer=[*h.AVF_FOOTER_LINES[:2], b"1" * 5000 + b"_1_" + b"a" * 32, b"1.1"]),
        h.avf(block=[b"0", b"1", b"2", b"B" + b"9" * 400 + b"T" + b"9" * 80]),
        h.rmv(h.RMV1, result=b"3BV:" + b"9" * 5000 + b"#NICK:" + b"1" * 5000 + b"_2_" + b"a" * 32),
        h.rmv(h.RMV2, players=[b"9" * 200] * 65_535),
    ],
    ids=[
        "evf-software",
        "evf-identifier",
        "evf-time-9999",
        "evf-time-superscript",
        "avf-name-digits",
        "avf-name-long-id",
        "avf-block-score",
        "rmv-result",
        "rmv-65535-fields",
    ],
)
def test_more_crafted_fields(data: bytes) -> None:
    info = _read(data)
    if info is not None:
        assert info.key is None
        assert info.bbbv is None or info.bbbv <= 65_535
        assert info.game_time is None or info.game_time < 10_000_000


def test_out_of_range_values_are_unknown_not_errors() -> None:
    info = _read(h.evf(start=b"9" * 18))
    assert info is not None and info.boardgen_time is None
    info = _read(h.rmv(h.RMV1, result=b"3BV:" + b"9" * 5000 + b"#"))
    # The 3BV is the board's; a claim out of range is no claim, so no problem.
    assert info is not None and info.bbbv == 10 and info.problems == ()


# -- every text field of every format, filled with what makes patterns slow ----

_RUN = st.tuples(
    st.sampled_from(
        ["7", "7.", ".", " ", "\r", "#", "_", "f", "1_2_", " - Release", "b'", "Skin:"]
    ),
    st.sampled_from([1, 2, 17, 255, 4096, 40_000, 65_535, 200_000]),
)
TEXT = st.lists(_RUN, max_size=3).map(lambda runs: "".join(c * n for c, n in runs).encode())
BOUNDED = settings(
    max_examples=40,
    deadline=None,  # a hang is caught by the hang guard, not by a timing
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.timeout(60)
@BOUNDED
@given(
    st.sampled_from([h.RMV1, h.RMV2]),
    TEXT,
    TEXT,
    st.lists(TEXT, max_size=5),
    TEXT,
)
def test_rmv_text_fields(
    base: bytes, result: bytes, version: bytes, players: list[bytes], clone: bytes
) -> None:
    _read(h.rmv(base, result=result, version_info=version, players=players, clone_name=clone))


@pytest.mark.timeout(60)
@BOUNDED
@given(st.fixed_dictionaries({name: TEXT for name in h.EVF_TEXTS}))
def test_evf_text_fields(texts: dict[str, bytes]) -> None:
    _read(h.evf(**texts))


@pytest.mark.timeout(60)
@BOUNDED
@given(
    st.lists(TEXT, max_size=3),
    st.booleans(),
    TEXT,
    TEXT,
    st.lists(TEXT, max_size=2),
    st.lists(TEXT.map(lambda text: text[:100]), max_size=4),
    st.booleans(),
)
def test_avf_text_fields(
    before: list[bytes],
    skin: bool,
    name: bytes,
    version: bytes,
    after: list[bytes],
    block: list[bytes],
    freesweeper: bool,
) -> None:
    footer = [*before, *([b"Skin: 3.1"] if skin else []), name, version, *after]
    data = h.avf(footer=footer, block=[b"0", *block, b"B28T6.41"])  # mode first, score last
    _read(bytes([0]) + data[1:] if freesweeper else data)


# -- the plain parsers agree with the patterns they replace --------------------

_OLD_VERSION = re.compile(r"([0-9]+(?:\.[0-9]+)+)")
_OLD_VERSION_SUFFIX = re.compile(r"([0-9]+(?:\.[0-9]+)+[A-Za-z0-9]*)")
_OLD_CLONE_SPLIT = re.compile(r"\s+-\s+Release\b|\s+Release\b|\s+v?[0-9]")
SHORT = st.text(st.sampled_from("0123456789.-_ \t\r\nvRaAeélsz²"), max_size=40) | st.builds(
    "".join, st.lists(st.sampled_from(["Release", " - ", "v1", "1.2", "3.0.2C", " ", "x"]))
)


@settings(deadline=None)  # Hypothesis's 200 ms a case: a loaded machine's pause fails it
@given(SHORT)
def test_plain_parsers_match_the_old_patterns(text: str) -> None:
    old = _OLD_VERSION.search(text)
    assert dotted_version(text) == (old[1] if old else None)
    old = _OLD_VERSION_SUFFIX.search(text)
    assert dotted_version(text, suffix=True) == (old[1] if old else None)
    assert clone_name(text) == _OLD_CLONE_SPLIT.split(text, maxsplit=1)[0].strip()


@hang_guard
@pytest.mark.parametrize("char", ["1", ".", " ", "1.", " 1", " -", "1_"])
def test_plain_parsers_on_a_megabyte(char: str) -> None:
    text = char * (1_000_000 // len(char))
    assert dotted_version(text + "x") == (text[:-1] if char == "1." else None)
    assert clone_name("a" + text + "b").startswith("a")


def test_small_number() -> None:
    assert small_number("00042") == 42
    assert small_number("123456") is None
    assert small_number("") is None
    assert small_number("\u00b2") is None
    assert small_number("1" * 18, digits=18) == int("1" * 18)


# -- game identity -------------------------------------------------------------


def test_game_digest_ignores_what_is_not_the_game(real_replay_bytes: bytes) -> None:
    digest = replays.inspect(real_replay_bytes).game_digest
    for tail in (b"\0", b"\0\0", b"\r\nanything", bytes(range(256))):
        assert replays.inspect(real_replay_bytes + tail).game_digest == digest


@pytest.mark.parametrize(
    ("original", "touched_up"),
    [
        (h.RMV1, h.rmv(h.RMV1, version_info=b"\0 \0Vienna Minesweeper\r\n\0")),
        (h.RMV1, h.rmv(h.RMV1, result=b"NICK:9_9_" + b"f" * 32 + b"#")),
        (h.RMV2, h.rmv(h.RMV2, players=[b"someone", b"else", b"", b"9_9_" + b"f" * 32])),
        (h.RMV2, h.rmv(h.RMV2, clone_name=b"another clone")),
        (h.EVF, h.evf(software=b"9.9.9", identifier=b"thief", start=b"0", country=b"XX")),
        (h.AVF, h.avf(footer=[b"RealTime: 1", b"Skin: 2", b"thief", b"other 1.0"])),
        (h.AVF, h.avf(block=[b"0", b"1.1.1970.00:00:00:0", b"", b"B28T6.41"])),
    ],
    ids=["rmv-padding", "rmv-result", "rmv-players", "rmv-clone", "evf", "avf-footer", "avf-block"],
)
def test_game_digest_same_game_touched_up(original: bytes, touched_up: bytes) -> None:
    assert touched_up != original
    assert replays.inspect(touched_up).game_digest == replays.inspect(original).game_digest


def test_game_digest_tells_games_apart() -> None:
    when = datetime(2024, 1, 1, tzinfo=timezone.utc)
    games = [write_rmv(seed=seed, boardgen_time=when) for seed in range(20)]
    games += [write_rmv(level=level, boardgen_time=when) for level in ("intermediate", "expert")]
    games += [h.RMV1, h.RMV2, h.AVF, h.EVF]
    # The same board with one event changed: the first move's time, one ms later.
    _, sections = h.rmv_sections(h.RMV2)
    events_at = len(h.RMV2) - len(sections["events"]) - len(sections["checksum"])
    assert 1 <= h.RMV2[events_at] <= 7  # a mouse event: code, time (3 bytes), ...
    moved = bytearray(h.RMV2)
    moved[events_at + 3] ^= 1
    games.append(bytes(moved))
    digests = {replays.inspect(game).game_digest for game in games}
    assert len(digests) == len(games)
    assert replays.inspect(bytes(moved)).board == replays.inspect(h.RMV2).board


def test_game_digest_is_documented_encoding() -> None:
    info = replays.inspect(h.RMV1)
    cells = bytearray(8)
    header_end = 28 + 118 + 127 + 9
    positions = h.RMV1[header_end + 8 : header_end + 8 + 20]
    for col, row in zip(positions[0::2], positions[1::2], strict=True):
        cells[(row * 8 + col) >> 3] |= 0x80 >> ((row * 8 + col) & 7)
    events_at = header_end + 28 + 2 + 4
    win = bytes([16]) + (4153).to_bytes(3, "big")  # the end-of-game event: won in 4.153 s
    events_end = h.RMV1.index(win, events_at) + len(win)
    expected = hashlib.sha256(
        b"scoreganizer game digest 1\n" + b"rmv" + bytes([8, 8, 0, 10]) + cells
    )
    expected.update(h.RMV1[events_at:events_end])
    assert info.game_digest == expected.hexdigest()


@pytest.fixture(params=["RMV1", "RMV2", "AVF", "EVF"])
def real_replay_bytes(request: pytest.FixtureRequest) -> bytes:
    data: bytes = getattr(h, request.param)
    return data
