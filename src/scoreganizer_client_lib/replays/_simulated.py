"""Games played on a simulated board, for the replay writers of :mod:`.testing`.

A :class:`SimulatedBoard` is a board from a seed. :func:`play` plays a list of
:class:`Action` on it (left clicks, right clicks, chords with both buttons or
the middle one, clicks off the board) by the common rules of the clones, and
returns the :class:`Game`: its mouse events, what each event changed on the
board, how it ended, its time and its 3BV. The writers turn a game into a
file of any format; a judge that replays the file must find the same game.

Times are in milliseconds from the start of the game: the release of the
first left click, which opens a cell. The press of that click comes before
it (a negative time), as clones that record it do.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

Cell = tuple[int, int]  # (col, row)

#: The side of a cell in pixels.
SQUARE = 16
#: The kinds of :class:`Action`.
ACTIONS = ("left", "right", "chord", "right-chord", "middle")
#: The buttons each kind presses, in order; a chord releases the left one first.
_PRESSES = {
    "left": ("l",),
    "right": ("r",),
    "chord": ("l", "r"),
    "right-chord": ("r", "l"),
    "middle": ("m",),
}


class SimulatedBoard:
    """A board from a seed, with the numbers and the clicks that solve it."""

    def __init__(self, width: int, height: int, mines: int, seed: int) -> None:
        if not (1 <= width <= 255 and 1 <= height <= 255):
            raise ValueError("width and height must be 1 to 255")
        if not 0 <= mines < width * height:
            raise ValueError("mines must leave at least one safe cell")
        self.width, self.height = width, height
        cells = [(c, r) for r in range(height) for c in range(width)]
        self.mines = sorted(random.Random(seed).sample(cells, mines), key=lambda m: (m[1], m[0]))
        self.mine_set = frozenset(self.mines)
        self.numbers = {
            cell: sum(n in self.mine_set for n in self.neighbours(cell))
            for cell in cells
            if cell not in self.mine_set
        }

    def neighbours(self, cell: Cell) -> Iterator[Cell]:
        """The up to eight cells around ``cell``."""
        col, row = cell
        for r in range(max(0, row - 1), min(self.height, row + 2)):
            for c in range(max(0, col - 1), min(self.width, col + 2)):
                if (c, r) != cell:
                    yield (c, r)

    def reveal(
        self, cell: Cell, opened: set[Cell], flagged: frozenset[Cell] = frozenset()
    ) -> list[Cell]:
        """The safe cells a click on ``cell`` opens (flood fill from zeros,
        which passes no flag); they are added to ``opened``."""
        found, todo = [], [cell]
        while todo:
            current = todo.pop()
            if current in opened:
                continue
            opened.add(current)
            found.append(current)
            if self.numbers[current] == 0:
                todo.extend(
                    n for n in self.neighbours(current) if n not in opened and n not in flagged
                )
        return found

    def solving_clicks(self) -> list[tuple[Cell, list[Cell]]]:
        """Clicks that win: openings first, then the other safe cells; each
        with the cells it opens. Their count is the board's 3BV."""
        opened: set[Cell] = set()
        order = sorted(self.numbers, key=lambda c: (self.numbers[c] != 0, c[1], c[0]))
        return [(cell, self.reveal(cell, opened)) for cell in order if cell not in opened]

    @property
    def bbbv(self) -> int:
        """The board's 3BV: the least number of clicks that win."""
        return len(self.solving_clicks())

    def solved_bbbv(self, opened: set[Cell]) -> int:
        """The 3BV of the ``opened`` cells, when no flag stopped an opening
        from opening whole: each opening with a zero open, and each open
        number outside every opening."""
        return sum(cell in opened for cell, _ in self.solving_clicks())


@dataclass(frozen=True)
class Action:
    """One click of the simulated player.

    ``kind`` is ``left``, ``right``, ``chord`` (both buttons: left pressed
    first), ``right-chord`` (right pressed first: its press flags a closed
    cell, as a right click does) or ``middle``; ``cell`` is None for a click
    off the board. The
    mouse takes ``moves`` steps to the cell during ``gap_ms``, then holds the
    buttons for ``hold_ms``. ``at`` is the point inside the cell, in pixels.
    """

    kind: str
    cell: Cell | None
    gap_ms: int = 120
    hold_ms: int = 50
    moves: int = 2
    at: tuple[int, int] = (8, 8)

    def __post_init__(self) -> None:
        if self.kind not in ACTIONS:
            raise ValueError(f"unknown action {self.kind!r}; use one of {', '.join(ACTIONS)}")
        if self.gap_ms < 0 or self.hold_ms < 0 or self.moves < 0:
            raise ValueError("times and moves cannot be negative")
        if not (0 <= self.at[0] < SQUARE and 0 <= self.at[1] < SQUARE):
            raise ValueError(f"the point inside the cell must be 0 to {SQUARE - 1}")


@dataclass(frozen=True)
class MouseEvent:
    """``action`` is ``mv``, ``lc``/``lr`` (left press/release), ``rc``/``rr``
    or ``mc``/``mr``; ``x`` and ``y`` are pixels from the board's top left
    corner (off the board past its right and bottom edges)."""

    time_ms: int
    action: str
    x: int
    y: int


@dataclass(frozen=True)
class Change:
    """What a mouse event changed on the board: ``open`` (with the cell's
    ``number``), ``flag``, ``unflag`` or ``blast`` (a mine opened)."""

    kind: str
    cell: Cell
    number: int = 0


@dataclass(frozen=True)
class Game:
    """A game as :func:`play` played it.

    ``changes[i]`` is what ``events[i]`` changed. ``outcome`` is ``won``,
    ``lost`` or ``unfinished``; ``time_ms`` is the time of the event that
    ended the game (of the last event when it did not end).
    """

    board: SimulatedBoard
    events: tuple[MouseEvent, ...]
    changes: tuple[tuple[Change, ...], ...]
    outcome: str
    time_ms: int
    bbbv: int
    bbbv_solved: int

    @property
    def won(self) -> bool:
        """Whether the game was won."""
        return self.outcome == "won"


def solving_actions(board: SimulatedBoard, pace_ms: int = 170) -> list[Action]:
    """Left clicks that win, one every ``pace_ms`` (a multiple of 10 keeps
    the times exact in AVF, which records hundredths)."""
    hold = min(50, pace_ms)
    return [Action("left", cell, pace_ms - hold, hold) for cell, _ in board.solving_clicks()]


def play(board: SimulatedBoard, actions: Sequence[Action]) -> Game:
    """Play ``actions`` on ``board``: the game ends at a win or when a mine
    opens, and the actions after that are not played.

    The first action must be a left click on a safe cell: it starts the game.
    """
    if not actions or actions[0].kind != "left" or actions[0].cell not in board.numbers:
        raise ValueError("the first action must be a left click on a safe cell")
    return _Play(board).run(actions)


class _Play:
    """The state of a game being played."""

    def __init__(self, board: SimulatedBoard) -> None:
        self.board = board
        self.opened: set[Cell] = set()
        self.flagged: set[Cell] = set()
        self.events: list[MouseEvent] = []
        self.changes: list[tuple[Change, ...]] = []
        self.outcome = "unfinished"
        self.end_ms: int | None = None
        self.time = 0
        self.pointer = (board.width * SQUARE // 2, board.height * SQUARE // 2)

    def run(self, actions: Sequence[Action]) -> Game:
        start_ms: int | None = None
        for action in actions:
            self._act(action)
            if start_ms is None:
                start_ms = self.events[-1].time_ms  # the first release starts the game
            if self.outcome != "unfinished":
                break
        assert start_ms is not None
        events = tuple(MouseEvent(e.time_ms - start_ms, e.action, e.x, e.y) for e in self.events)
        end = self.end_ms if self.end_ms is not None else self.events[-1].time_ms
        return Game(
            board=self.board,
            events=events,
            changes=tuple(self.changes),
            outcome=self.outcome,
            time_ms=end - start_ms,
            bbbv=self.board.bbbv,
            bbbv_solved=self.board.solved_bbbv(self.opened),
        )

    def _event(self, action: str, point: tuple[int, int], *changes: Change) -> None:
        self.events.append(MouseEvent(self.time, action, *point))
        self.changes.append(changes)

    def _act(self, action: Action) -> None:
        if action.cell is None:  # off the board, past its bottom right corner
            target = (self.board.width * SQUARE + action.at[0], self.board.height * SQUARE + 4)
        else:
            target = (
                action.cell[0] * SQUARE + action.at[0],
                action.cell[1] * SQUARE + action.at[1],
            )
        start, steps = self.pointer, action.moves
        for step in range(1, steps + 1):
            self.time += action.gap_ms // (steps + 1) if step == 1 else 0
            x = start[0] + (target[0] - start[0]) * step // (steps + 1)
            y = start[1] + (target[1] - start[1]) * step // (steps + 1)
            self._event("mv", (x, y))
        self.time += action.gap_ms - (action.gap_ms // (steps + 1) if steps else 0)
        self._event("mv", target)
        self.pointer = target
        buttons, cell = _PRESSES[action.kind], action.cell
        for i, button in enumerate(buttons):
            self.time += 10 if i else 0
            # a right press that comes first flags (or unflags) a closed cell
            changed = self._flag(cell) if button == "r" and i == 0 and cell is not None else ()
            self._event(f"{button}c", target, *changed)
        self.time += action.hold_ms
        for i, button in enumerate(sorted(buttons)):  # "l" before "r"
            self.time += 10 if i else 0
            self._event(f"{button}r", target, *self._release(action, first=i == 0))
            if self.outcome != "unfinished":
                return  # the game ended: the clone records nothing more

    def _release(self, action: Action, first: bool) -> tuple[Change, ...]:
        """What the release of a button does (a chord acts on its first release)."""
        cell = action.cell
        if cell is None or not first:
            return ()
        if action.kind == "left":
            return self._open([cell]) if cell not in self.opened | self.flagged else ()
        if action.kind == "right":
            return ()  # its press flagged
        return self._chord(cell)

    def _flag(self, cell: Cell) -> tuple[Change, ...]:
        """A right press on ``cell``: a closed cell is flagged, a flag taken away."""
        if cell in self.opened:
            return ()
        if cell in self.flagged:
            self.flagged.discard(cell)
            return (Change("unflag", cell),)
        self.flagged.add(cell)
        return (Change("flag", cell),)

    def _chord(self, cell: Cell) -> tuple[Change, ...]:
        if cell not in self.opened or self.board.numbers[cell] == 0:
            return ()
        around = list(self.board.neighbours(cell))
        if sum(n in self.flagged for n in around) != self.board.numbers[cell]:
            return ()
        return self._open([n for n in around if n not in self.opened and n not in self.flagged])

    def _open(self, cells: list[Cell]) -> tuple[Change, ...]:
        changes: list[Change] = []
        for cell in cells:
            if cell in self.board.mine_set:
                changes.append(Change("blast", cell))
                self.outcome, self.end_ms = "lost", self.time
                continue
            for opened in self.board.reveal(cell, self.opened, frozenset(self.flagged)):
                changes.append(Change("open", opened, self.board.numbers[opened]))
        if self.outcome == "unfinished" and len(self.opened) == len(self.board.numbers):
            self.outcome, self.end_ms = "won", self.time
        return tuple(changes)
