"""Both clients against answers that would take all memory: endless bodies,
lengths past the cap, compression bombs, hostile JSON, endless digest
challenges; each is cut at its bound, decoded piece by piece."""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zlib

import pytest

from misbehaving_server import (
    BOMBS,
    CLIENTS,
    DIGEST_PASSWORD,
    DIGEST_USER,
    Script,
    all_tournaments,
    bomb,
    call,
)
from scoreganizer_client_lib._answer_body import AnswerBody
from scoreganizer_client_lib.exceptions import (
    ScoreganizerError,
    ScoreganizerProtocolError,
)

# -- bounded memory ----------------------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", CLIENTS)
def test_an_endless_answer_is_cut_at_the_cap(server: tuple[Script, int], kind: str) -> None:
    script, port = server
    script.actions = ["endless"]
    with pytest.raises(ScoreganizerProtocolError, match="longer than the 262144 bytes"):
        call(kind, port, all_tournaments, max_answer_size=256 * 1024)


@pytest.mark.parametrize("kind", CLIENTS)
def test_a_declared_length_over_the_cap_is_refused_unread(
    server: tuple[Script, int], kind: str
) -> None:
    script, port = server
    script.actions = ["huge-length"]
    with pytest.raises(ScoreganizerProtocolError, match="1000000000000 bytes"):
        call(kind, port, all_tournaments)


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("action", ["deep", "huge-wait"])
def test_hostile_json_is_a_protocol_error(
    server: tuple[Script, int], kind: str, action: str
) -> None:
    script, port = server
    script.actions = [action]
    with pytest.raises(ScoreganizerProtocolError):
        call(kind, port, lambda sc: sc.tournaments.gen_key(3))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("encoding", BOMBS)
def test_a_compressed_answer_is_capped_on_its_decoded_size(
    server: tuple[Script, int], kind: str, encoding: str
) -> None:
    script, port = server
    script.actions = [encoding]
    cap = 256 * 1024
    bomb(encoding)  # made before memory is traced
    tracemalloc.start()
    try:
        with pytest.raises(ScoreganizerProtocolError, match=f"longer than the {cap} bytes"):
            call(kind, port, all_tournaments, max_answer_size=cap)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # 16 MiB once decoded: never decoded whole, only as far as the cap
    assert peak < 4 * 1024 * 1024, f"{peak / 2**20:.1f} MiB"


def _coded(data: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return gzip.compress(data)
    if coding == "deflate":
        return zlib.compress(data)
    if coding == "raw deflate":  # what some servers send as "deflate"
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return packer.compress(data) + packer.flush()
    return data


@pytest.mark.parametrize(
    ("header", "codings"),
    [
        ("gzip", ["gzip"]),
        ("x-gzip", ["gzip"]),
        ("deflate", ["deflate"]),
        ("Deflate", ["raw deflate"]),
        ("gzip, deflate", ["gzip", "deflate"]),
        ("identity", []),
        ("", []),
        (", ,gzip,,", ["gzip"]),
        ("br", []),  # not asked for: kept as it came
    ],
)
@pytest.mark.parametrize("piece", [1, 7, 1 << 20])
def test_answers_are_decoded_piece_by_piece(header: str, codings: list[str], piece: int) -> None:
    data = b'{"tokens": ["' + b"x" * 200_000 + b'"]}'
    wire = data
    for coding in codings:
        wire = _coded(wire, coding)
    body = AnswerBody(1 << 20, {"content-encoding": header, "content-length": str(len(wire))})
    for at in range(0, len(wire), piece):
        body.add(wire[at : at + piece])
    assert body.whole() == data


def test_broken_or_piled_up_codings_are_protocol_errors() -> None:
    with pytest.raises(ScoreganizerProtocolError, match="gzip coding is broken"):
        AnswerBody(1 << 20, {"content-encoding": "gzip"}).add(b"not gzip at all")
    with pytest.raises(ScoreganizerProtocolError, match="more than 5 codings"):
        AnswerBody(1 << 20, {"content-encoding": ", ".join(["gzip"] * 6)})


@pytest.mark.parametrize("kind", CLIENTS)
def test_digest_authentication(server: tuple[Script, int], kind: str) -> None:
    script, port = server
    script.actions = ["digest"]
    digest = {"digest_auth_username": DIGEST_USER, "digest_auth_password": DIGEST_PASSWORD}
    assert call(kind, port, all_tournaments, **digest) == []
    assert len(script.seen) == 2  # challenged once, then answered
    script.seen = []
    call(kind, port, lambda sc: sc.scores.upload_file(io.BytesIO(b"THE-REPLAY"), "g.rmv"), **digest)
    assert len(script.seen) == 2 and all(b"THE-REPLAY" in body for _, _, body in script.seen)
    with pytest.raises(ScoreganizerError) as info:
        call(kind, port, all_tournaments)  # no digest credentials: the 401 is the answer
    assert info.value.error == "401"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", CLIENTS)
def test_an_endless_digest_challenge_is_cut_at_the_cap(
    server: tuple[Script, int], kind: str
) -> None:
    script, port = server
    script.actions = ["digest-endless"]
    digest = {"digest_auth_username": DIGEST_USER, "digest_auth_password": DIGEST_PASSWORD}
    with pytest.raises(ScoreganizerProtocolError, match="longer than the 262144 bytes"):
        call(kind, port, all_tournaments, max_answer_size=256 * 1024, timeout=(1, 2), **digest)
