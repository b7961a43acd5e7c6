"""The command's subcommands: where each lives, what it needs, and its line
in ``--help``. Imports nothing, so that the fast paths can read it."""

from __future__ import annotations

#: The extra each command needs beyond the command's own (``cli``).
COMMAND_EXTRAS = {"app": "app", "demo": "sandbox", "sandbox": "sandbox"}

#: name -> (module, function, one-line help shown by --help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "login": ("account", "login", "Log in and store the credentials for this server."),
    "logout": ("account", "logout", "Forget the stored credentials for this server."),
    "status": ("account", "status", "Who is logged in, and the token's state."),
    "tournaments": ("tournaments", "tournaments", "List tournaments."),
    "join": ("tournaments", "join", "Join a tournament (or ask to join a closed one)."),
    "confirm": ("tournaments", "confirm", "Accept a host's invitation."),
    "key": ("key", "key", "Get your tournament key (and the name to type)."),
    "upload": ("upload", "upload", "Check and upload replay files."),
    "inspect": ("inspect", "inspect_cmd", "Show what is in replay files."),
    "standings": ("standings", "standings", "Show a tournament's ranking."),
    "watch": ("watch", "watch", "Upload every new replay in a folder during a tournament."),
    "sandbox": ("sandbox", "sandbox", "Run and manage a local sandbox server."),
    "demo": ("demo", "demo", "Play a whole tournament against an embedded sandbox."),
    "app": ("app", "app", "Play in your browser: the player's web app on this computer."),
}


__all__ = ["COMMANDS", "COMMAND_EXTRAS"]
