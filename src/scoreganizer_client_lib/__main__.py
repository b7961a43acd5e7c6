"""``python -m scoreganizer_client_lib``: the ``scoreganizer`` command."""

from .cli import run

run()
