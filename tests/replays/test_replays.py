"""Reading the real replay files, finding keys, failing clearly, writing RMVs."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import REPLAYS
from scoreganizer_client_lib import replays
from scoreganizer_client_lib.replays import ReplayFormat, TournamentKey, formats
from scoreganizer_client_lib.replays.testing import SimulatedBoard, write_rmv

KEY = "1_35_99a8472376717bc7a676876cf0d351e3"

# The values of shared/replays/README.md.
EXPECTED = {
    "test_subject.avf": dict(
        format=ReplayFormat.AVF,
        clone="Minesweeper Arbiter",
        clone_version="0.52.3",
        player=dict(name="Tommy"),
        key=None,
        board=(8, 8, 10, "beginner"),
        boardgen=datetime(2021, 5, 22, 16, 39, 5, 912000, tzinfo=timezone.utc),
        local=True,
        game_time=5.41,
        won=True,
        bbbv=28,
    ),
    "test_subject.rmv": dict(
        format=ReplayFormat.RMV,
        clone="Vienna Minesweeper - Scoreganizer Client Edition",
        clone_version="3.0.2C",
        player=dict(name="tkolar"),
        key=TournamentKey(2, 1, "517cce9419171fee58a550067fed65ed"),
        board=(8, 8, 10, "beginner"),
        boardgen=datetime.fromtimestamp(1600544477, timezone.utc),
        local=False,
        game_time=4.153,
        won=True,
        bbbv=10,
    ),
    "test_subject_2.rmv": dict(
        format=ReplayFormat.RMV,
        clone="Vienna Minesweeper",
        clone_version="5.0.0a1",
        player=dict(name="Thomas Kolar", nickname="ralokt", country="", token=""),
        key=None,
        board=(8, 8, 10, "beginner"),
        boardgen=datetime.fromtimestamp(1739795277, timezone.utc),
        local=False,
        game_time=6.303,
        won=True,
        bbbv=32,
    ),
    "test_subject.evf": dict(
        format=ReplayFormat.EVF,
        clone="Metasweeper",
        clone_version="3.1.9",
        player=dict(identifier="Szymon_M", country="Poland"),
        key=None,
        board=(30, 16, 99, "expert"),
        boardgen=datetime(2024, 8, 30, 20, 11, 41, 386418, tzinfo=timezone.utc),
        local=False,
        game_time=69.597,
        won=True,
        bbbv=167,
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_files(name: str) -> None:
    expected = EXPECTED[name]
    info = replays.inspect(REPLAYS / name)
    assert info.format is expected["format"]
    assert info.mime_type == expected["format"].mime_type
    assert info.clone == expected["clone"]
    assert info.clone_version == expected["clone_version"]
    for field, value in expected["player"].items():
        assert getattr(info.player, field) == value
    assert info.key == expected["key"]
    b = info.board
    assert (b.width, b.height, b.mines, b.level) == expected["board"]
    assert info.boardgen_time == expected["boardgen"]
    assert info.boardgen_time.tzinfo is timezone.utc
    assert info.boardgen_time_is_local is expected["local"]
    assert info.game_time == pytest.approx(expected["game_time"])
    assert info.won is expected["won"]
    assert info.bbbv == expected["bbbv"]


def test_sources_path_bytes_file(real_replay: Path) -> None:
    from_path = replays.inspect(real_replay)
    assert replays.inspect(str(real_replay)) == from_path
    assert replays.inspect(real_replay.read_bytes()) == from_path
    with real_replay.open("rb") as handle:
        assert replays.inspect(handle) == from_path


def test_format_from_content_not_name(tmp_path: Path) -> None:
    misnamed = tmp_path / "game.rmv"
    misnamed.write_bytes((REPLAYS / "test_subject.evf").read_bytes())
    assert replays.inspect(misnamed).format is ReplayFormat.EVF


def test_quirky_v1_key_and_source() -> None:
    info = replays.inspect(REPLAYS / "test_subject.rmv")
    assert info.key_field == "result_string.NICK"
    assert str(info.key) == "2_1_517cce9419171fee58a550067fed65ed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (KEY, KEY),
        (f"ralokt#{KEY}", KEY),
        (f"a#b#{KEY}", KEY),
        ("2_1_b'517cce9419171fee58a550067fed65ed'", "2_1_517cce9419171fee58a550067fed65ed"),
        (KEY.upper(), KEY),  # upper-case hex digits are read as lower case
        ("ralokt", None),
        ("1_35_99a8472376717bc7a676876cf0d351e", None),  # 31 hex digits
        ("1_35_99a8472376717bc7a676876cf0d351e3f", None),  # 33 hex digits
        ("", None),
    ],
)
def test_find_key(text: str, expected: str | None) -> None:
    key = TournamentKey.find(text)
    assert (str(key) if key else None) == expected


def test_key_parse() -> None:
    assert TournamentKey.parse(KEY) == TournamentKey(1, 35, "99a8472376717bc7a676876cf0d351e3")
    with pytest.raises(ValueError, match="not a tournament key"):
        TournamentKey.parse(f"x#{KEY}")


def test_key_field_order() -> None:
    other = "7_8_" + "0" * 32
    data = write_rmv(nickname=other, key=KEY)
    info = replays.inspect(data)
    assert str(info.key) == KEY and info.key_field == "token"
    info = replays.inspect(write_rmv(nickname=f"me#{KEY}"))
    assert str(info.key) == KEY and info.key_field == "nickname"


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", replays.TruncatedReplay, "empty"),
        (b"hello world, this is not a replay", replays.UnknownReplayFormat, "not an RMV"),
        (b"*rmv\x00\x07", replays.UnsupportedReplayVersion, "format version 7"),
        (b"*rmv\x00\x02\x01", replays.TruncatedReplay, "clone major version"),
    ],
)
def test_clear_errors(data: bytes, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        replays.inspect(data)


def test_truncated_real_files_say_where(real_replay: Path) -> None:
    data = real_replay.read_bytes()
    with pytest.raises(replays.ReplayError) as info:
        replays.inspect(data[: len(data) // 2])
    assert "ends" in str(info.value) or "no " in str(info.value)


def test_size_cap(tmp_path: Path) -> None:
    with pytest.raises(replays.ReplayTooLarge):
        replays.inspect(b"*rmv" + bytes(100), max_size=50)
    with pytest.raises(replays.ReplayError, match="cannot read"):
        replays.inspect(tmp_path / "missing.rmv")
    with pytest.raises(replays.ReplayError, match="binary mode"):
        replays.inspect(io.StringIO("text"))  # type: ignore[arg-type]


def test_a_file_too_large_is_judged_by_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.rmv"
    with big.open("wb") as handle:
        handle.truncate(1 << 30)  # sparse: its size alone says it is too large
    with pytest.raises(replays.ReplayTooLarge):
        replays.inspect(big)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_only_regular_files_are_read(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x.rmv"
    if kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this platform")
        os.mkfifo(path)  # no writer: opening it for reading would wait forever
    elif kind == "device":
        if not Path(os.devnull).exists() or sys.platform == "win32":
            pytest.skip("no device file to link to")
        path.symlink_to(os.devnull)
    else:
        path.mkdir()
    with pytest.raises(replays.ReplayError, match="cannot read"):
        replays.inspect(path)


@pytest.mark.parametrize("level", ["beginner", "intermediate", "expert", (10, 7, 12), (1, 2, 1)])
@pytest.mark.parametrize("seed", [0, 1, 99])
def test_writer_round_trip(level: object, seed: int) -> None:
    when = datetime(2024, 5, 20, 13, 40, 5, tzinfo=timezone.utc)
    data = write_rmv(level=level, seed=seed, name="Jörg", key=KEY, boardgen_time=when)  # type: ignore[arg-type]
    info = replays.inspect(data)
    width, height, mines = (
        level
        if isinstance(level, tuple)
        else {"beginner": (8, 8, 10), "intermediate": (16, 16, 40), "expert": (30, 16, 99)}[level]
    )
    assert (info.board.width, info.board.height, info.board.mines) == (width, height, mines)
    assert info.format_version == 2 and info.clone == "scoreganizer-client-lib"
    assert info.player.name == "Jörg"
    assert info.player.nickname == KEY and info.player.token == KEY
    assert str(info.key) == KEY
    assert info.boardgen_time == when
    assert info.won is True
    board = SimulatedBoard(width, height, mines, seed)
    assert info.bbbv == len(board.solving_clicks())


def test_writer_defaults_and_errors() -> None:
    info = replays.inspect(write_rmv())
    assert info.key is None and info.player.name == "Player"
    assert abs((datetime.now(timezone.utc) - info.boardgen_time).total_seconds()) < 5
    with pytest.raises(ValueError, match="aware"):
        write_rmv(boardgen_time=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="unknown level"):
        write_rmv(level="impossible")
    with pytest.raises(ValueError, match="safe cell"):
        write_rmv(level=(2, 2, 4))


def test_writer_boards_differ_by_seed() -> None:
    assert write_rmv(seed=1, boardgen_time=datetime(2024, 1, 1, tzinfo=timezone.utc)) != write_rmv(
        seed=2, boardgen_time=datetime(2024, 1, 1, tzinfo=timezone.utc)
    )


def test_formats_are_one_source() -> None:
    assert [fmt.mime_type for fmt in ReplayFormat] == [
        "application/x-viennasweeper",
        "application/x-minesweeper-arbiter",
        "application/x-metasweeper",
    ]
    assert formats.MIME_TYPES_BY_EXTENSION["avf"] == formats.MIME_TYPES[ReplayFormat.AVF]
    assert {".rmv", ".avf", ".evf"} == formats.SUFFIXES
    assert formats.LEVEL_NAMES == ("beginner", "intermediate", "expert")
    assert formats.Level("expert").size == (30, 16, 99)
    for level in formats.Level:
        assert formats.level_name(*level.size) == level.value == replays.Board(*level.size).level
    assert formats.level_name(8, 8, 11) == "custom"


PUBLIC = [*replays.__all__, "avf", "evf", "rmv", "testing", "formats"]
LIGHT = "import sys; import scoreganizer_client_lib.{module}; print(sorted(sys.modules))"


@pytest.mark.parametrize("module", ["replays", "replays.formats"])
def test_import_loads_no_reader(module: str) -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", LIGHT.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for heavy in ("replays.rmv", "replays.avf", "replays.evf", "replays._model", "'re'"):
        assert heavy not in loaded, heavy
    assert "replays.formats" in loaded


def test_public_names_import() -> None:
    code = f"from scoreganizer_client_lib.replays import {', '.join(PUBLIC)}"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert all(getattr(replays, name) is not None for name in PUBLIC)
    assert set(PUBLIC) <= set(dir(replays))
    with pytest.raises(AttributeError, match="no attribute"):
        replays.no_such_name  # noqa: B018
