"""Real replays rebuilt with chosen text fields: the raw material of the hostile
input tests and of ``bench/bench_replays_hostile.py``.

Each builder takes a real file and replaces some of its text fields, keeping
every length and size field consistent, so that the reader gets past the
structure and really reads the text.
"""

from __future__ import annotations

import struct
from pathlib import Path

REPLAYS = Path(__file__).parent / "data" / "replays"
AVF = (REPLAYS / "test_subject.avf").read_bytes()
EVF = (REPLAYS / "test_subject.evf").read_bytes()
RMV1 = (REPLAYS / "test_subject.rmv").read_bytes()  # v1, keyed in its result string
RMV2 = (REPLAYS / "test_subject_2.rmv").read_bytes()

# -- RMV -----------------------------------------------------------------------

_V1_HEADER = ">4sHIHHHHHHIH"  # magic, type, size, result, version, player, board, pre, prop, ev, cs
_V2_HEADER = ">4sHBBIHHHHHHIH"  # magic, type, clone, major, size, version, player, board, ...


def rmv_sections(data: bytes) -> tuple[list[int], dict[str, bytes]]:
    """The header fields and the sections, by name, of an RMV v1 or v2 file."""
    version = struct.unpack_from(">H", data, 4)[0]
    fmt = _V1_HEADER if version == 1 else _V2_HEADER
    header = list(struct.unpack_from(fmt, data))
    names = ["version", "players", "board", "preflags", "properties", "events", "checksum"]
    names = ["result", *names] if version == 1 else [*names[:5], "extensions", *names[5:]]
    sizes = header[3:] if version == 1 else header[5:]
    pos = struct.calcsize(fmt)
    sections: dict[str, bytes] = {}
    for name, size in zip(names, sizes, strict=True):
        sections[name] = data[pos : pos + size]
        pos += size
    sections["trailer"] = data[pos:]
    return header, sections


def _players(fields: list[bytes]) -> bytes:
    return struct.pack(">H", len(fields)) + b"".join(bytes([len(f)]) + f for f in fields)


def rmv(
    base: bytes = RMV1,
    *,
    result: bytes | None = None,
    version_info: bytes | None = None,
    players: list[bytes] | None = None,
    clone_name: bytes | None = None,
    events: bytes | None = None,
) -> bytes:
    """``base`` (an RMV v1 or v2 file) with the given sections replaced.

    ``players`` are the raw player fields, up to 65,535 of them (each cut to the 255 bytes the
    format allows); ``result`` applies to v1 files; ``clone_name`` (v2)
    replaces the extension properties with one ``clone_name`` entry and sets
    the clone id to 0, so that the reader takes the clone's name from it.
    """
    header, sections = rmv_sections(base)
    version = header[1]
    if result is not None and version == 1:
        sections["result"] = result[:65535]
    if version_info is not None:
        sections["version"] = version_info[:65535]
    if players is not None:
        sections["players"] = _players([field[:255] for field in players])
    if clone_name is not None and version == 2:
        name = b"clone_name"
        value = clone_name[:255]
        sections["extensions"] = (
            struct.pack(">HB", 1, len(name)) + name + bytes([len(value)]) + value
        )
        header[2] = 0
    if events is not None:
        sections["events"] = events
    fmt = _V1_HEADER if version == 1 else _V2_HEADER
    size_at = 2 if version == 1 else 4  # the file size field, kept as far off as it was
    header[size_at] += struct.calcsize(fmt) + sum(map(len, sections.values())) - len(base)
    # A 16-bit size field cannot say how long a larger section is: it says 65,535.
    sizes = [min(len(section), 0xFFFF) for name, section in sections.items() if name != "trailer"]
    return struct.pack(fmt, *header[: size_at + 1], *sizes) + b"".join(sections.values())


# -- EVF -----------------------------------------------------------------------

EVF_TEXTS = (
    "software",
    "identifier",
    "race",
    "uniqueness",
    "start",
    "end",
    "country",
    "uuid",
)


def evf(base: bytes = EVF, **texts: bytes) -> bytes:
    """``base`` (an EVF v2 or v3 file) with the named NUL-terminated texts
    replaced (any NUL in a new text ends it early, as it would in a file)."""
    fixed = 15 if base[0] == 3 else 14
    pos = fixed
    old = []
    for _ in EVF_TEXTS:
        end = base.index(b"\0", pos)
        old.append(base[pos:end])
        pos = end + 1
    new = [
        texts.get(name, value).replace(b"\0", b"")
        for name, value in zip(EVF_TEXTS, old, strict=True)
    ]
    return base[:fixed] + b"".join(text + b"\0" for text in new) + base[pos:]


# -- AVF -----------------------------------------------------------------------

_AVF_FOOTER = AVF.index(b"RealTime:")
AVF_FOOTER_LINES = AVF[_AVF_FOOTER:].split(b"\r")  # RealTime, Skin, name, version


def avf(
    base: bytes = AVF,
    *,
    footer: list[bytes] | None = None,
    footer_raw: bytes | None = None,
    block: list[bytes] | None = None,
) -> bytes:
    """``base`` with its footer lines, its raw footer, or the ``|``-separated
    fields of its text block replaced."""
    footer_at = base.index(b"RealTime:")
    head, tail = base[:footer_at], base[footer_at:]
    if footer is not None:
        tail = b"\r".join(footer)
    if footer_raw is not None:
        tail = footer_raw
    if block is not None:
        start = head.index(b"[")
        close = head.index(b"]", start)
        head = head[: start + 1] + b"|".join(block) + head[close:]
    return head + tail


# -- the attacks of the issue --------------------------------------------------


def avf_long_version(digits: int) -> bytes:
    """An AVF whose footer version line is ``digits`` digits."""
    return avf(footer=[*AVF_FOOTER_LINES[:3], b"7" * digits])


def rmv_long_version(digits: int) -> bytes:
    """An RMV v1, otherwise valid and keyed, whose version field is ``digits``
    digits (the format allows 65,535)."""
    return rmv(RMV1, version_info=b"7" * digits)


def avf_cr_footer(size: int) -> bytes:
    """An AVF of ``size`` bytes whose footer is carriage returns."""
    head = AVF[:_AVF_FOOTER]
    return head + b"\r" * (size - len(head))
