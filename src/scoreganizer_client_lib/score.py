"""Scores: the ``sc.scores`` namespace (replay uploads) of the sync client,
at its 0.3.1 import path, and the helpers that prepare an upload."""

from __future__ import annotations

from ._api_sync import Scores
from ._uploads import (
    PathLike,
    PreparedUpload,
    UploadResult,
    check_replay,
    prepare_file,
    prepare_filename,
    prepare_replay,
)

__all__ = [
    "PathLike",
    "PreparedUpload",
    "Scores",
    "UploadResult",
    "check_replay",
    "prepare_file",
    "prepare_filename",
    "prepare_replay",
]
