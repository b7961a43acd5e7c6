"""The code blocks of the README and of every page under ``docs/``.

``tests/docs/test_docs.py`` runs them (its docstring says how each kind of block
is tested); CI type-checks the ``python`` ones with ``mypy --strict`` after
writing them out as files:

    python tests/docs_examples.py FOLDER   # one FOLDER/<page>_<n>.py per block

A block is a fenced block (at any indentation). A block is an *illustration*
when the paragraph right before it is ``_Illustration: WHY._``, visible on
the rendered page; illustrations are checked, not run.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"

BLOCK = re.compile(
    r"(?:^_Illustration: (?P<why>[^\n]+?)_\n\n)?"
    r"^(?P<indent>[ ]*)```(?P<lang>\w*)[^\n]*\n(?P<code>.*?)^(?P=indent)```[ ]*$",
    flags=re.DOTALL | re.MULTILINE,
)


@dataclass(frozen=True)
class Block:
    """One fenced code block."""

    page: str  # relative to the checkout, e.g. "docs/library.md"
    number: int  # 1 for the page's first block
    line: int  # where its fence opens
    lang: str
    code: str  # dedented by the fence's indentation
    why: str | None  # why it only illustrates, or None when it runs

    @property
    def id(self) -> str:
        return f"{self.page}#{self.number}"


def pages() -> list[Path]:
    """The README, then every page of the site, in name order."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for number, match in enumerate(BLOCK.finditer(text), start=1):
        indent = len(match["indent"])
        code = "".join(line[indent:] for line in match["code"].splitlines(keepends=True))
        line = text.count("\n", 0, match.start("indent")) + 1
        name = page.relative_to(ROOT).as_posix()
        found.append(Block(name, number, line, match["lang"], code, match["why"]))
    return found


def all_blocks() -> list[Block]:
    return [block for page in pages() for block in blocks(page)]


def python_file_name(block: Block) -> str:
    """A module name of its own for each python block (mypy checks them together)."""
    stem = re.sub(r"\W", "_", block.page.removesuffix(".md"))
    return f"{stem}_{block.number}.py"


def write_python(folder: Path) -> int:
    """Write every python block as a module in ``folder``; how many."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for block in all_blocks():
        if block.lang == "python":
            (folder / python_file_name(block)).write_text(block.code, encoding="utf-8")
            written += 1
    return written


if __name__ == "__main__":
    print(f"{write_python(Path(sys.argv[1]))} python blocks written to {sys.argv[1]}")
