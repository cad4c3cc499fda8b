"""The one exception type the command line turns into a one-line error."""


class PogoError(Exception):
    """A problem the user can fix; its message says what is wrong and what to do next."""


class FormatError(PogoError):
    """A file or value does not follow the protocol's byte layout (a MALFORMED artifact)."""


class ProofError(PogoError):
    """A Merkle proof, root or record does not match its commitment."""
