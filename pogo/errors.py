"""The one exception type the command line turns into a one-line error, and where an
unexpected one came from."""

import traceback
from pathlib import Path


class PogoError(Exception):
    """A problem the user can fix; its message says what is wrong and what to do next."""


class FormatError(PogoError):
    """A file or value does not follow the protocol's byte layout (a MALFORMED artifact)."""


class ProofError(PogoError):
    """A Merkle proof, root or record does not match its commitment."""


def raised_at(exc: BaseException) -> str:
    """``file.py:line`` of the innermost frame outside installed packages: where this project
    called what failed (a library's own frame names only the library). Long-running roles count
    the exceptions they survive by this and the class."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "?"
    frame = next((f for f in reversed(frames) if "site-packages" not in f.filename), frames[-1])
    return f"{Path(frame.filename).name}:{frame.lineno}"
