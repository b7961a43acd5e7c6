"""What the servers' two hooks into uvicorn rely on, named in one place.

The connection guard (``_connection_guard.py``) subclasses uvicorn's h11
protocol, and ``PromptStop`` (``_serving.py``) overrides ``Server.main_loop``
and ``Server.shutdown``: neither is uvicorn's documented API, which is why
the dependency stops below uvicorn 1. When an upgrade moves any of these,
this module fails first, naming what moved, rather than the guard failing
quietly under load."""

from __future__ import annotations

import inspect

import h11
import pytest
import uvicorn
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

#: The methods of uvicorn's h11 protocol the guard overrides and calls on to.
PROTOCOL_METHODS = (
    "connection_made",
    "connection_lost",
    "data_received",
    "handle_events",
    "on_response_complete",
    "_unset_keepalive_if_required",
)
#: What a ``uvicorn.Server`` has that PromptStop replaces or reads.
SERVER_METHODS = ("main_loop", "shutdown", "on_tick", "run")
SERVER_STATE = ("servers", "server_state", "config", "lifespan", "force_exit", "should_exit")


@pytest.mark.parametrize("name", PROTOCOL_METHODS)
def test_the_h11_protocol_still_has_what_the_guard_overrides(name: str) -> None:
    assert callable(getattr(H11Protocol, name, None)), f"H11Protocol.{name} moved"


def test_the_h11_protocol_keeps_its_connection_state_where_the_guard_reads_it() -> None:
    source = inspect.getsource(H11Protocol.__init__)
    for attribute in ("self.transport", "self.flow", "self.conn", "self.cycle", "self.client"):
        assert attribute in source, f"H11Protocol no longer sets {attribute}"
    assert "read_paused" in inspect.getsource(FlowControl)
    cycle = inspect.getsource(RequestResponseCycle.__init__)
    for attribute in ("self.response_complete", "self.response_started", "self.scope"):
        assert attribute in cycle, f"RequestResponseCycle no longer sets {attribute}"
    assert h11.Connection(h11.SERVER).their_state is h11.IDLE


@pytest.mark.parametrize("name", SERVER_METHODS)
def test_the_server_still_has_what_prompt_stop_replaces(name: str) -> None:
    assert callable(getattr(uvicorn.Server, name, None)), f"uvicorn.Server.{name} moved"


def test_the_server_keeps_the_state_prompt_stop_reads() -> None:
    source = inspect.getsource(uvicorn.Server)
    for name in SERVER_STATE:
        assert f"self.{name}" in source, f"uvicorn.Server no longer sets self.{name}"
    assert "timeout_graceful_shutdown" in inspect.getsource(uvicorn.Config.__init__)
    assert list(inspect.signature(uvicorn.Server.shutdown).parameters) == ["self", "sockets"]
    assert list(inspect.signature(uvicorn.Server.on_tick).parameters) == ["self", "counter"]
