"""The test suite on every Python the package supports (``requires-python``).

``nox`` runs them all; ``nox -s tests-3.10`` one; arguments after ``--`` go to
pytest (``nox -s tests-3.12 -- -m unit``). Each session installs the package
with its ``test`` extra into its own virtual environment under ``.nox/``.
"""

from __future__ import annotations

import nox

#: From ``requires-python`` (3.10) to the newest release.
PYTHONS = ("3.10", "3.11", "3.12", "3.13")

nox.options.sessions = ["tests"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole suite (or what the arguments select) on one Python."""
    session.install("-q", "-e", ".[test]")
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *session.posargs)
