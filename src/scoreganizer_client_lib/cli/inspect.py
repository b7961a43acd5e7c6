"""``inspect``: what is in replay files, and how each game is judged."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import replays
from ..text import inert
from ._common import emit_json, judgement_json, say
from ._settings import Settings


def info_json(path: Path, info: replays.ReplayInfo) -> dict[str, Any]:
    """A replay's metadata as JSON."""
    player = {k: v for k, v in vars(info.player).items() if v is not None}
    return {
        "file": str(path),
        "format": info.format.value,
        "format_version": info.format_version,
        "mime_type": info.mime_type,
        "clone": info.clone,
        "clone_version": info.clone_version,
        "player": player,
        "key": str(info.key) if info.key else None,
        "key_field": info.key_field,
        "board": {
            "width": info.board.width,
            "height": info.board.height,
            "mines": info.board.mines,
            "level": info.board.level,
        },
        "boardgen_time": info.boardgen_time.isoformat() if info.boardgen_time else None,
        "boardgen_time_is_local": info.boardgen_time_is_local,
        **judgement_json(info),
    }


def describe_replay(path: Path, info: replays.ReplayInfo) -> str:
    """A replay's metadata as readable lines (what the file says, made inert)."""
    player = ", ".join(f"{k} {v!r}" for k, v in vars(info.player).items() if v)
    when = info.boardgen_time.strftime("%Y-%m-%d %H:%M:%S") if info.boardgen_time else "?"
    clock = "local clock" if info.boardgen_time_is_local else "UTC"
    found_in = f" (in {info.key_field})" if info.key else ""
    board = info.board
    version = f"{info.format.name} v{info.format_version}"
    return "\n".join(
        [
            inert(str(path)),
            f"  {inert(' '.join(filter(None, [info.clone, info.clone_version])))} ({version})",
            f"  player: {player or '-'}",
            f"  key: {info.key or 'none'}{found_in}",
            f"  board: {board.width}x{board.height}, {board.mines} mines ({board.level})",
            f"  board generated: {when} {clock}",
            *_game_lines(info),
        ]
    )


def _game_lines(info: replays.ReplayInfo) -> list[str]:
    """The judged game: outcome and time, 3BV and speed, clicks, problems."""
    clicks = info.clicks
    claimed = (
        f" (the file claims {info.claimed_time:.3f} s)"
        if info.claimed_time is not None and info.problems
        else ""
    )
    rate = info.bbbv_per_second
    ioe = info.ioe
    lines = [
        f"  game: {info.outcome} in {info.game_time:.3f} s{claimed}"
        + ("" if info.won else ", does not count"),
        f"  3BV: {info.bbbv_solved} of {info.bbbv} solved"
        + (f", {rate:.2f} 3BV/s" if rate is not None else ""),
        f"  clicks: {clicks.total} (left {clicks.left}, right {clicks.right}, "
        f"double {clicks.double})" + (f", IOE {ioe:.2f}" if ioe is not None else ""),
    ]
    if not info.problems:
        return [*lines, "  problems: none"]
    return lines + [f"  problem: {inert(problem)}" for problem in info.problems]


def unreadable_reason(exc: replays.ReplayError) -> str:
    """Why a replay could not be read, without repeating its path."""
    if isinstance(exc.__cause__, OSError):
        return f"cannot read the file ({exc.__cause__.strerror or exc.__cause__})"
    return f"not a readable replay ({exc})"


@click.command("inspect")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_obj
def inspect_cmd(settings: Settings, files: tuple[Path, ...]) -> None:
    """What is in each replay: clone, player, key, board, time, result."""
    out, failed = [], 0
    for path in files:
        try:
            info = replays.inspect(path)
        except replays.ReplayError as exc:
            failed += 1
            reason = unreadable_reason(exc)
            out.append({"file": str(path), "error": reason})
            if not settings.json:
                say(f"{path}: {reason}")
            continue
        out.append(info_json(path, info))
        if not settings.json:
            for line in describe_replay(path, info).splitlines():
                say(line)  # on a terminal, broken between words to fit it
    if settings.json:
        emit_json(out)
    if failed:
        sys.exit(1)
