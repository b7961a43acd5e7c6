"""``docs/protocol.md`` holds what the sandbox really says, so it cannot drift.

Each ``http`` block of the page is one exchange: a request, then (from the
line ``HTTP/1.1 STATUS``) the answer. The test builds the scenario the page
describes in a sandbox whose clock starts at ``START`` and moves on by
``STEP`` before each request, sends the page's requests in the page's order,
and compares each answer with the page's: the status, every header the page
shows, and the body (as JSON when it is JSON). Tokens and keys are random:
the page's samples must have their shape, and each sample stands for the
real value in the requests after it. A body line ``(an RMV replay keyed
KEY)`` stands for a real replay carrying that key, its board generated at
the sandbox's now. On a mismatch, the failure shows the real exchange in the
page's form, to paste.

The page's endpoint table, the exchanges and the sandbox's OpenAPI description
must all name the same ``/api/`` endpoints, and each ``json`` example of the
page must be one of the answers of its exchanges.
"""

from __future__ import annotations

import http.client
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests

from conftest import TEST_CONFIG
from docs_examples import DOCS, Block, blocks
from scoreganizer_client_lib.replays.testing import write_rmv
from scoreganizer_client_lib.sandbox import SandboxServer, scenario

PAGE = DOCS / "protocol.md"
EXCHANGES = [block for block in blocks(PAGE) if block.lang == "http"]
#: When the page's first request is sent, and how far the clock moves before each.
START = datetime(2026, 12, 24, 18, 0, tzinfo=timezone.utc).timestamp()
STEP = 30.0
#: What stands for a random value, by the JSON field that holds it.
SHAPES = {
    "token": re.compile(r"[0-9a-f]{32,}|[\w-]{20,}"),
    "key": re.compile(r"\d+_\d+_[0-9a-f]{32}"),
}
REPLAY_LINE = re.compile(r"^\(an RMV replay keyed (?P<key>\S+)\)$", flags=re.MULTILINE)
STATUS_LINE = re.compile(r"^HTTP/1\.1 (\d{3})\b.*$", flags=re.MULTILINE)
ENDPOINT_ROW = re.compile(r"^\| (GET|POST) \| `([^`]+)` \|", flags=re.MULTILINE)


def build_scenario(sandbox: SandboxServer) -> None:
    """What the page's exchanges start from (its "The examples" section)."""
    store = sandbox.store
    scenario.add_user(store, "host", "host-password")
    scenario.add_user(store, "alice", "secret")
    scenario.add_tournament(
        store, "Friday Cup", "host", start="2026-12-24T17:00:00Z", end="2026-12-24T20:00:00Z"
    )
    night = scenario.add_tournament(
        store,
        "Night Cup",
        "host",
        start="2026-12-24T21:00:00Z",
        end="2026-12-24T23:00:00Z",
        mode="sum_timelimit",
        modeparams="1+1+1;600",
        closed=True,
    )
    scenario.invite(store, night, "alice")
    scenario.add_tournament(
        store, "Autumn Cup", "host", start="2026-11-01T18:00:00Z", end="2026-11-01T20:00:00Z"
    )


@dataclass
class Message:
    """A request or an answer as the page writes it."""

    first: str  # the request line or the status line
    headers: dict[str, str]
    body: str


def parse_message(text: str) -> Message:
    head, _, body = text.strip("\n").partition("\n\n")
    first, *lines = head.splitlines()
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Message(first, headers, body.strip("\n"))


def parse_exchange(code: str) -> tuple[Message, Message]:
    status = STATUS_LINE.search(code)
    assert status is not None, f"no answer (HTTP/1.1 STATUS) in:\n{code}"
    return parse_message(code[: status.start()]), parse_message(code[status.start() :])


@dataclass
class Session:
    """The page's exchanges sent to one sandbox, in order."""

    sandbox: SandboxServer
    clock: list[float]
    #: sample value on the page -> the real value it stands for
    real: dict[str, str] = field(default_factory=dict)

    def substitute(self, text: str) -> str:
        for sample, value in self.real.items():
            text = text.replace(sample, value)
        return text

    def send(self, request: Message) -> tuple[int, dict[str, str], bytes]:
        method, path, _ = request.first.split(" ")
        headers = {name: self.substitute(value) for name, value in request.headers.items()}
        body = self.body(request, headers)
        self.clock[0] += STEP
        connection = http.client.HTTPConnection(
            self.sandbox.url.split("//")[1].rstrip("/"), timeout=30
        )
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            content = answer.read()
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, content
        finally:
            connection.close()

    def body(self, request: Message, headers: dict[str, str]) -> bytes | None:
        if not request.body:
            return None
        text = self.substitute(request.body)
        if not headers.get("content-type", "").startswith("multipart/"):
            return text.encode()
        parts = REPLAY_LINE.split(text)  # [before, key, after]
        assert len(parts) == 3, "a multipart body holds one replay line"
        before, key, after = parts
        now = datetime.fromtimestamp(self.clock[0] + STEP, timezone.utc)
        replay = write_rmv(key=key, boardgen_time=now, seed=7)
        return before.replace("\n", "\r\n").encode() + replay + after.replace("\n", "\r\n").encode()

    def learn(self, expected: object, actual: object) -> None:
        """Take up the real values of the page's samples in ``expected``."""
        if isinstance(expected, dict) and isinstance(actual, dict):
            for name, shape in SHAPES.items():
                sample, value = expected.get(name), actual.get(name)
                if isinstance(sample, str) and isinstance(value, str):
                    assert shape.fullmatch(sample), (
                        f"the page's {name} {sample!r} has not its shape"
                    )
                    assert shape.fullmatch(value), f"the sandbox's {name} {value!r}"
                    self.real[sample] = value
                    actual[name] = sample


def render(status: int, headers: dict[str, str], content: bytes) -> str:
    """An answer in the page's form."""
    reason = http.client.responses.get(status, "")
    lines = [f"HTTP/1.1 {status} {reason}"]
    if "content-type" in headers:
        lines.append(f"Content-Type: {headers['content-type']}")
    return "\n".join(lines) + ("\n\n" + content.decode() if content else "")


def compare(block: Block, session: Session) -> str | None:
    """Send the block's request; what differs from the page's answer, if anything."""
    request, expected = parse_exchange(block.code)
    status, headers, content = session.send(request)
    same = expected.first.split(" ")[1] == str(status) and all(
        headers.get(name) == value for name, value in expected.headers.items()
    )
    if expected.body or content:
        try:
            page, actual = json.loads(expected.body), json.loads(content)
        except ValueError:
            same = same and expected.body.encode() == content
        else:
            session.learn(page, actual)
            same = same and actual == page
            content = json.dumps(actual).encode()  # with the page's samples
    if same:
        return None
    return (
        f"{block.id} (line {block.line}): the sandbox answered\n{render(status, headers, content)}"
    )


def test_the_pages_exchanges_are_what_the_sandbox_answers() -> None:
    assert len(EXCHANGES) >= 14
    clock = [START - STEP]
    with SandboxServer(config=TEST_CONFIG, clock=lambda: clock[0]) as sandbox:
        build_scenario(sandbox)
        session = Session(sandbox, clock)
        differ = [problem for block in EXCHANGES if (problem := compare(block, session))]
    assert not differ, "\n\n".join(differ)


def test_the_pages_json_examples_are_answers_of_its_exchanges() -> None:
    answered = []
    for block in EXCHANGES:
        body = parse_exchange(block.code)[1].body
        value = json.loads(body) if body else None
        answered.extend(value if isinstance(value, list) else [value])
    examples = [json.loads(block.code) for block in blocks(PAGE) if block.lang == "json"]
    assert examples
    for example in examples:
        assert example in answered, example


def _endpoint(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_the_page_the_exchanges_and_the_openapi_description_name_the_same_endpoints() -> None:
    text = PAGE.read_text(encoding="utf-8")
    table = {(method, _endpoint("/api/" + path)) for method, path in ENDPOINT_ROW.findall(text)}
    sent = set()
    for block in EXCHANGES:
        method, path, _ = parse_exchange(block.code)[0].first.split(" ")
        sent.add((method, _endpoint(re.sub(r"/\d+$", "/{id}", path))))
    with SandboxServer(config=TEST_CONFIG) as sandbox:
        spec = requests.get(sandbox.url + "/api/openapi.json", timeout=30).json()
    described = {
        (method.upper(), _endpoint(path))
        for path, operations in spec["paths"].items()
        if path.startswith("/api/")
        for method in operations
    }
    assert len(described) >= 14
    assert table == described
    assert sent == described
