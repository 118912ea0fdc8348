"""qx-env: a search-engine-feedback simulation environment for query extraction in toxic-content
exploration, after the QExplorer paper."""

__version__ = "0.1.0"

from qx_env.errors import CorpusSourceError, QxError, SnapshotError
from qx_env.snapshot import Snapshot, SnapshotMeta

__all__ = ["CorpusSourceError", "QxError", "Snapshot", "SnapshotError", "SnapshotMeta", "__version__"]
