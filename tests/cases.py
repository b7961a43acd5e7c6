"""Wire fixtures shared by the tests of the clients and the app."""

from __future__ import annotations

from scoreganizer_client_lib import exceptions as exc

BASE = "https://api.test:8443/api/"

TOURNAMENT = {
    "id": 35,
    "mode": "sum",
    "modeparams": "1+1+1",
    "name": "dj42test2",
    "location": "here",
    "start": "2024-05-20T13:37:00",
    "end": "2025-05-20T13:37:00.250000",
    "open_entry": True,
    "hide_results": False,
    "status": "participating",
}
#: A tournament the server is running, that the player has not joined.
RUNNING = {
    **TOURNAMENT,
    "location": None,
    "start": "2026-01-01T10:00:00Z",
    "end": "2099-01-01T10:00:00Z",
    "status": "not_participating",
}
# A newer server: an extra field and a status this version does not know.
TOURNAMENT_NEWER = {**TOURNAMENT, "id": 36, "status": "spectating", "prize": "fame"}

LISTS = ["all", "archive", "in_progress", "upcoming", "active", "my_active"]

KEY = "1_35_99a8472376717bc7a676876cf0d351e3"

# (error code, wait sent by the server, expected exception class)
ERROR_CODES = [
    ("invalid_login_data", None, exc.ScoreganizerInvalidLoginData),
    ("not_logged_in", None, exc.ScoreganizerNotLoggedIn),
    ("token_too_recent", None, exc.ScoreganizerTokenTooRecent),
    ("too_early", 120, exc.ScoreganizerTooEarly),
    ("key_exists", None, exc.ScoreganizerKeyExists),
    ("not_generated", None, exc.ScoreganizerNotGenerated),
    ("not_generated_yet", "30.5", exc.ScoreganizerNotGeneratedYet),
    ("never_generated", None, exc.ScoreganizerNeverGenerated),
    ("tournament_over", None, exc.ScoreganizerTournamentOver),
    ("mode_constraint_violated", None, exc.ScoreganizerModeConstraintViolated),
    ("invalid_data", None, exc.ScoreganizerInvalidData),
    ("retry", None, exc.ScoreganizerRetry),
    ("something_new", 5, exc.ScoreganizerWait),
    ("something_else", None, exc.ScoreganizerError),
]


def error_body(code: str, wait: object) -> dict[str, object]:
    return {"error": code} if wait is None else {"error": code, "wait": wait}
