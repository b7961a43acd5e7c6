"""The game engine: a board, and the mouse buttons that play it.

Every format's reader turns its file into the same things: the board (where
the mines are) and the button events (a press or release of the left, right
or middle button over a cell, with its time). :class:`Game` replays them with
the rules the clones share, and counts what happened as the reference
analyser, ms_toollib, counts it:

- A left press and release on a closed cell opens it (a zero opens its whole
  opening). The first opening starts the game's clock.
- A right press flags a closed cell, or unflags a flagged one (with question
  marks on, a flag becomes a question mark, and a question mark closes).
- Both buttons held, or the middle button, released over an opened number whose
  flags around it match it, open its other closed neighbours (a chord).
- Opening a mine loses; opening every safe cell wins. Nothing counts after.
- ``left``, ``right`` and ``double`` count the releases and presses that act
  on the board as ms_toollib's mouse state machine does, wasted ones included;
  ``bbbv_solved`` counts the 3BV the openings and numbers opened were worth.

Cells are numbered ``row * width + col`` outside this module. Inside, the
board is a flat list with a border of one cell all round (the padded cell
``(row + 1) * (width + 2) + col + 1``), so that the eight neighbours of a cell
are eight fixed offsets and no table of them is made; every step costs time
proportional to the cells it touches, so a game costs time linear in its
events and its board.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ._model import CorruptReplay

# Button events, numbered as RMV and EVF number them.
LEFT_DOWN, LEFT_UP, RIGHT_DOWN, RIGHT_UP, MIDDLE_DOWN, MIDDLE_UP = 2, 3, 4, 5, 6, 7
PREFLAG, BOTH_DOWN, LEFT, RIGHT, MIDDLE = 8, 9, 10, 11, 12
#: The events that press a button (EVF's LEFT, RIGHT and MIDDLE press or release).
PRESSES = frozenset({LEFT_DOWN, RIGHT_DOWN, MIDDLE_DOWN, BOTH_DOWN})
#: Where a button event that is not over the board happened.
OFF_BOARD = -1
#: The most button events a game may have: each is replayed in Python, and
#: the longest real game found (20 minutes, 1,021 3BV) has under 4,000.
#: Moves, by far the most events, are not counted.
MAX_BUTTON_EVENTS = 100_000

# What a cell shows: 0 to 8 once opened, else one of these (the border shows
# BORDER, which nothing opens, flags or counts).
BORDER, CLOSED, FLAG, QUESTION, BLAST = 9, 10, 11, 12, 15
MINE = -1
_BORDER_NUMBER = -2

# The game, as ms_toollib's states name it.
READY, PREFLAGGING, PLAYING, WON, LOST = 0, 1, 2, 3, 4
OUTCOMES = {WON: "won", LOST: "lost"}

# The buttons, as ms_toollib's mouse states name them.
UP_UP, UP_DOWN, UP_DOWN_NOT_FLAG, DOWN_UP = 0, 1, 2, 3
CHORDING, CHORDING_NOT_FLAG, DOWN_UP_AFTER_CHORD = 4, 5, 6


def check_button_events(
    count: int,
    fmt: str,
    offset: int,
    limit: int = MAX_BUTTON_EVENTS,
    what: str = "mouse button events",
) -> None:
    """Refuse a game of more than ``limit`` events to replay one by one."""
    if count > limit:
        raise CorruptReplay(
            f"{fmt}: more than {limit:,} {what}, far more than any real game", offset
        )


class Board:
    """Where the mines are, the numbers around them, the openings and the 3BV.

    ``numbers``, ``opening`` and ``isolated`` are padded (see the module);
    :meth:`padded` and :meth:`unpadded` convert.
    """

    __slots__ = (
        "bbbv",
        "height",
        "isolated",
        "mines",
        "numbers",
        "offsets",
        "opening",
        "openings",
        "stride",
        "width",
    )

    def __init__(self, width: int, height: int, mine_cells: Iterable[int]) -> None:
        self.width, self.height = width, height
        stride = self.stride = width + 2
        #: The eight neighbours of a padded cell are at these offsets.
        self.offsets = (-stride - 1, -stride, -stride + 1, -1, 1, stride - 1, stride, stride + 1)
        offsets = self.offsets
        numbers = [_BORDER_NUMBER] * (stride * (height + 2))
        for first in self._rows():
            numbers[first : first + width] = [0] * width
        mines = {self.padded(cell) for cell in mine_cells}
        self.mines = len(mines)
        for cell in mines:
            numbers[cell] = MINE
        for cell in mines:
            for d in offsets:
                if numbers[cell + d] >= 0:
                    numbers[cell + d] += 1
        self.numbers = numbers
        # Each zero's opening (its connected zeros), numbered from 0; and the
        # numbers no zero touches, each worth a click of its own.
        opening = [-1] * len(numbers)
        touched = bytearray(len(numbers))
        count = 0
        for first in self._rows():
            for cell in range(first, first + width):
                if numbers[cell] or opening[cell] >= 0:
                    continue
                opening[cell] = count
                todo = [cell]
                while todo:
                    zero = todo.pop()
                    for d in offsets:
                        n = zero + d
                        touched[n] = 1
                        if numbers[n] == 0 and opening[n] < 0:
                            opening[n] = count
                            todo.append(n)
                count += 1
        self.opening, self.openings = opening, count
        self.isolated = bytearray(
            1 if number > 0 and not near_zero else 0
            for number, near_zero in zip(numbers, touched, strict=True)
        )
        self.bbbv = count + sum(self.isolated)

    def _rows(self) -> range:
        """The padded cell that starts each row of the board."""
        return range(self.stride + 1, self.stride * (self.height + 1), self.stride)

    def cell_at(self, x: int, y: int, square: int) -> int:
        """The cell (``row * width + col``) under the point ``(x, y)`` in
        pixels of ``square`` a side, or :data:`OFF_BOARD`."""
        if 0 <= x < self.width * square and 0 <= y < self.height * square:
            return (y // square) * self.width + x // square
        return OFF_BOARD

    def padded(self, cell: int) -> int:
        """The padded cell of ``cell`` (``row * width + col``)."""
        row, col = divmod(cell, self.width)
        return (row + 1) * self.stride + col + 1

    def unpadded(self, values: Sequence[int]) -> list[int]:
        """``values`` of the padded cells, without the border: row by row."""
        width = self.width
        return [v for first in self._rows() for v in values[first : first + width]]


class Game:
    """A game on ``board``, replayed one button event at a time by :meth:`step`.

    ``question_marks``: the clone was set to mark cells with ``?`` on a second
    right click of a flag.
    """

    __slots__ = (
        "bbbv_solved",
        "board",
        "double",
        "end_ms",
        "flagged_zeros",
        "last_ms",
        "left",
        "middle_held",
        "mouse",
        "preflags",
        "pressed_after_end",
        "question_marks",
        "right",
        "shown",
        "start_ms",
        "state",
        "times_run_backwards",
        "unopened_safe",
    )

    def __init__(self, board: Board, *, question_marks: bool = False) -> None:
        self.board = board
        self.question_marks = question_marks
        self.shown = bytearray([BORDER]) * len(board.numbers)
        for first in board._rows():
            self.shown[first : first + board.width] = bytes([CLOSED]) * board.width
        self.unopened_safe = board.width * board.height - board.mines
        self.flagged_zeros = [0] * board.openings  # flags on each opening's zeros
        self.left = self.right = self.double = self.bbbv_solved = 0
        self.state, self.mouse = READY, UP_UP
        self.preflags = 0
        self.middle_held = False
        self.pressed_after_end = self.times_run_backwards = False
        self.last_ms = 0  # the time of the last button event
        self.start_ms: int | None = None
        self.end_ms: int | None = None

    def showing(self) -> list[int]:
        """What each cell shows, row by row (``row * width + col``)."""
        return self.board.unpadded(self.shown)

    @property
    def outcome(self) -> str:
        """``won``, ``lost`` or ``unfinished``."""
        return OUTCOMES.get(self.state, "unfinished")

    @property
    def over(self) -> bool:
        """The game was won or lost: no event changes it any more."""
        return self.state >= WON

    @property
    def elapsed_ms(self) -> int:
        """The game's time (ms): from the event that started it (the first
        opening) to the one that ended it, or to the last button event if it
        did not end; 0 if it never started, or if its times run back before
        its start (a problem named on its own)."""
        if self.start_ms is None:
            return 0
        return max(0, (self.end_ms if self.end_ms is not None else self.last_ms) - self.start_ms)

    # The board's own moves ------------------------------------------------

    def _open(self, cells: list[int]) -> None:
        """Open ``cells`` (and the openings of the zeros among them)."""
        numbers, shown = self.board.numbers, self.shown
        offsets = self.board.offsets
        while cells:
            cell = cells.pop()
            if shown[cell] != CLOSED and shown[cell] != QUESTION:
                continue
            number = numbers[cell]
            if number == MINE:
                shown[cell] = BLAST
                self.state = LOST
                continue
            shown[cell] = number
            self.unopened_safe -= 1
            if number == 0:
                for d in offsets:
                    if shown[cell + d] == CLOSED or shown[cell + d] == QUESTION:
                        cells.append(cell + d)
        if self.unopened_safe == 0 and self.state != LOST:
            self.state = WON

    def _opening_complete(self, cell: int) -> bool:
        return self.flagged_zeros[self.board.opening[cell]] == 0

    def _set_shown(self, cell: int, value: int) -> None:
        before = self.shown[cell]
        self.shown[cell] = value
        opening = self.board.opening[cell]
        if opening >= 0:
            self.flagged_zeros[opening] += (value == FLAG) - (before == FLAG)

    def _left_click(self, cell: int) -> None:
        self.left += 1
        shown = self.shown[cell]
        if shown != CLOSED and shown != QUESTION:
            return
        number = self.board.numbers[cell]
        if number == 0:
            if self._opening_complete(cell):
                self.bbbv_solved += 1
        elif number > 0 and self.board.isolated[cell]:
            self.bbbv_solved += 1
        self._open([cell])

    def _right_click(self, cell: int) -> None:
        self.right += 1
        shown = self.shown[cell]
        if shown == CLOSED:
            self._set_shown(cell, FLAG)
        elif shown == FLAG:
            self._set_shown(cell, QUESTION if self.question_marks else CLOSED)
        elif shown == QUESTION:
            self._set_shown(cell, CLOSED)

    def _chord(self, cell: int) -> None:
        self.double += 1
        if cell == OFF_BOARD:
            return
        number = self.shown[cell]
        if number > 8:
            return
        board, shown = self.board, self.shown
        flags, closed = 0, []
        for n in (cell + d for d in board.offsets):
            if shown[n] == FLAG:
                flags += 1
            elif shown[n] == CLOSED:
                closed.append(n)
        if flags != number or not closed:
            return
        openings = set()
        for n in closed:
            value = board.numbers[n]
            if value > 0 and board.isolated[n]:
                self.bbbv_solved += 1
            elif value == 0 and self._opening_complete(n):
                openings.add(board.opening[n])
        self.bbbv_solved += len(openings)
        self._open(closed)

    # The buttons ------------------------------------------------------------

    def step(self, event: int, cell: int, time_ms: int) -> None:
        """Replay one button event over ``cell`` (or :data:`OFF_BOARD`) at
        ``time_ms``: the state machine of ms_toollib's MinesweeperBoard."""
        if cell != OFF_BOARD:
            cell = self.board.padded(cell)
        # Before the first opening the clone's clock does not run yet (Arbiter
        # times the press of the first click after its release): the times
        # must not run backwards from the start on.
        started = self.start_ms is not None
        self.times_run_backwards = self.times_run_backwards or (started and time_ms < self.last_ms)
        self.last_ms = max(self.last_ms, time_ms) if started else time_ms
        state = self.state
        if state >= WON:
            # A button released after the end (the other one of a chord) is
            # no matter; one pressed is a click the game did not have.
            self.pressed_after_end = self.pressed_after_end or event in PRESSES
            return
        if state == READY:
            self._step_ready(event, cell)
        elif state == PREFLAGGING:
            if self._step_preflagging(event, cell):
                self._step_playing(event, cell)
        else:
            self._step_playing(event, cell)
        if (self.state == PLAYING and state != PLAYING) or (self.state >= WON and state < PLAYING):
            self.start_ms = time_ms
        if self.state >= WON:
            self.end_ms = time_ms

    def _step_ready(self, event: int, cell: int) -> None:
        mouse = self.mouse
        if event == LEFT_DOWN:
            if mouse == UP_UP:
                self.mouse = DOWN_UP
                if cell != OFF_BOARD:
                    self.state = PREFLAGGING
            elif mouse == UP_DOWN:
                self.mouse = CHORDING
            elif mouse == UP_DOWN_NOT_FLAG:
                self.mouse = CHORDING_NOT_FLAG
        elif event == PREFLAG:
            self.preflags += 1
            self.state = PREFLAGGING
            self._right_click(cell)
        elif event == RIGHT_DOWN:
            if mouse == UP_UP:
                self.mouse = UP_DOWN
                if cell != OFF_BOARD:
                    self.preflags = 1
                    self.state = PREFLAGGING
                    self._right_click(cell)
            elif mouse == DOWN_UP_AFTER_CHORD:
                self.mouse = CHORDING
        elif event == LEFT_UP:
            if mouse in (CHORDING, CHORDING_NOT_FLAG):
                self.mouse = UP_DOWN
            elif mouse in (DOWN_UP_AFTER_CHORD, DOWN_UP, UP_UP):
                self.mouse = UP_UP
        elif event == RIGHT_UP:
            if mouse == UP_DOWN:
                self.mouse = UP_UP
            elif mouse == CHORDING:
                self.mouse = DOWN_UP_AFTER_CHORD
        elif event == BOTH_DOWN:
            if mouse in (DOWN_UP, DOWN_UP_AFTER_CHORD, UP_DOWN, UP_UP):
                self.mouse = CHORDING
            elif mouse == UP_DOWN_NOT_FLAG:
                self.mouse = CHORDING_NOT_FLAG

    def _step_preflagging(self, event: int, cell: int) -> bool:
        """One event before the first opening; True when it is handled as
        in a game under way."""
        mouse = self.mouse
        if event in (LEFT_DOWN, RIGHT_UP, MIDDLE_DOWN, MIDDLE_UP):
            return True
        if event == LEFT_UP:
            if mouse != DOWN_UP:
                return True
            if cell == OFF_BOARD:
                self.mouse = UP_UP
                if self.preflags == 0:
                    self.state = READY
                    self.left = self.right = self.double = 0
                else:
                    self.left += 1
            elif self.shown[cell] == CLOSED:
                self.mouse = UP_UP
                self.state = PLAYING
                self._left_click(cell)
            else:  # released on a flag: the button stays down for the state machine
                self.left += 1
        elif event == PREFLAG:
            self.preflags += 1
            self._right_click(cell)
        elif event == RIGHT_DOWN:
            if mouse == UP_UP:
                if cell == OFF_BOARD:
                    self.mouse = UP_DOWN_NOT_FLAG
                    self.right += 1
                    return False
                self.mouse = UP_DOWN
                if self.shown[cell] == CLOSED:
                    self.preflags += 1
                else:
                    self.preflags -= 1
                    if self.preflags == 0:
                        self.state = READY
                        self.left = self.right = self.double = 0
                        self._set_shown(cell, CLOSED)
                        return False
                self._right_click(cell)
            elif mouse == DOWN_UP:
                self.mouse = CHORDING
                if cell != OFF_BOARD and self.preflags == 0:
                    self.state = READY
            elif mouse == DOWN_UP_AFTER_CHORD:
                self.mouse = CHORDING
        elif event == BOTH_DOWN:
            if mouse == DOWN_UP:
                if cell != OFF_BOARD and self.preflags == 0:
                    self.state = READY
                self.mouse = CHORDING
            elif mouse in (DOWN_UP_AFTER_CHORD, UP_DOWN, UP_UP):
                self.mouse = CHORDING
            elif mouse == UP_DOWN_NOT_FLAG:
                self.mouse = CHORDING_NOT_FLAG
        return False

    def _step_playing(self, event: int, cell: int) -> None:
        mouse = self.mouse
        if event == LEFT_DOWN:
            if mouse in (UP_UP, DOWN_UP):
                self.mouse = DOWN_UP
            elif mouse == UP_DOWN:
                self.mouse = CHORDING
            elif mouse == UP_DOWN_NOT_FLAG:
                self.mouse = CHORDING_NOT_FLAG
        elif event == LEFT_UP or (
            event == LEFT and mouse not in (UP_UP, UP_DOWN, UP_DOWN_NOT_FLAG)
        ):
            self._left_up(cell, counted=event == LEFT_UP)
        elif event == LEFT:
            self.mouse = {UP_UP: DOWN_UP, UP_DOWN: CHORDING}.get(mouse, CHORDING_NOT_FLAG)
        elif event == RIGHT_DOWN:
            if mouse == UP_UP:
                self._right_press(cell)
            elif mouse in (DOWN_UP, DOWN_UP_AFTER_CHORD):
                self.mouse = CHORDING
        elif event == RIGHT_UP or (
            event == RIGHT and mouse not in (UP_UP, DOWN_UP, DOWN_UP_AFTER_CHORD)
        ):
            self._right_up(cell)
        elif event == RIGHT:
            if mouse == UP_UP:
                self._right_press(cell)
            else:
                self.mouse = CHORDING
        elif event == MIDDLE_DOWN:
            self.middle_held = True
        elif event == MIDDLE_UP:
            self.middle_held = False
            self._chord(cell)
        elif event == MIDDLE:
            self.middle_held = not self.middle_held
            if not self.middle_held:
                self._chord(cell)
        elif event == BOTH_DOWN:
            if mouse == UP_DOWN_NOT_FLAG:
                self.mouse = CHORDING_NOT_FLAG
            elif mouse in (DOWN_UP, DOWN_UP_AFTER_CHORD, UP_DOWN, UP_UP):
                self.mouse = CHORDING

    def _right_press(self, cell: int) -> None:
        """The right button pressed alone: it flags (or counts, beside the board)."""
        if cell == OFF_BOARD:
            self.mouse = UP_DOWN_NOT_FLAG
            self.right += 1
        else:
            self.mouse = UP_DOWN_NOT_FLAG if self.shown[cell] < CLOSED else UP_DOWN
            self._right_click(cell)

    def _left_up(self, cell: int, *, counted: bool) -> None:
        mouse = self.mouse
        if mouse == DOWN_UP:
            self.mouse = UP_UP
            if cell == OFF_BOARD:
                self.left += counted
            else:
                self._left_click(cell)
        elif mouse in (CHORDING, CHORDING_NOT_FLAG):
            self._chord_released(cell, UP_DOWN)
        elif mouse == DOWN_UP_AFTER_CHORD:
            self.mouse = UP_UP

    def _right_up(self, cell: int) -> None:
        mouse = self.mouse
        if mouse in (UP_DOWN, UP_DOWN_NOT_FLAG):
            self.mouse = UP_UP
        elif mouse in (CHORDING, CHORDING_NOT_FLAG):
            self._chord_released(cell, DOWN_UP_AFTER_CHORD)

    def _chord_released(self, cell: int, then: int) -> None:
        """One of two buttons held together released: a chord. A right press
        that could not flag, made before the left one, was counted as a right
        click, and is one no more."""
        if self.mouse == CHORDING_NOT_FLAG:
            self.right -= 1
        self.mouse = then
        if cell != OFF_BOARD:
            self._chord(cell)
