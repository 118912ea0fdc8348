"""Exceptions raised by qx-env. Every error a user can cause derives from :class:`QxError`,
so the CLI can print its message instead of a traceback."""


class QxError(Exception):
    """Base class of errors caused by bad input, with a message that names the problem."""


class SnapshotError(QxError):
    """A snapshot directory is missing, malformed, corrupted or from a newer qx-env."""


class CorpusSourceError(QxError):
    """A corpus source file is missing or its column mapping does not fit its contents."""


class IndexDataError(QxError):
    """A retrieval index is missing, damaged, or was built for another snapshot."""
