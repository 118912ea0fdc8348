"""Keyword retrieval with pyserini's Lucene (Anserini): the paper's inverted-index matching.

Two matching rules: ``exact`` (the analysed phrase must occur, like the paper's exact keyword
matching) and ``bm25`` (any analysed term, ranked by BM25). Chinese uses Lucene's CJK analyzer
(bigrams), English Anserini's default English analyzer. Queries are analysed into terms and built
into Lucene query objects directly, so Lucene syntax in user text is only ever text.

Searches go through ``qx.LiveSearch`` (``indexes/java``) where it compiled: one JVM call per query
or batch returns the hits as arrays, and removed items are skipped inside Lucene by a bitset of live
documents (no over-fetching); a batch runs on Java threads. Otherwise hits are read one by one, with
the same results.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from tqdm.auto import tqdm

from indexes._base import Index, clean_query, same_mask
from indexes._java import autoclass, live_search_class, start_jvm
from qx_env.errors import QxError
from qx_env.snapshot import Snapshot
from qx_env.types import Hits

RULES = ("exact", "bm25")
FIELD = "contents"  # Anserini's contents field
ID_FIELD = "id"  # Anserini's stored document id (here: the item position)
LUCENE_DIR = "lucene"
POSITIONS_FILE = "positions.npy"  # Lucene doc id -> item position
BM25_K1, BM25_B = 0.9, 0.4  # Anserini's defaults
#: Lucene's indexing RAM buffer (MB). Anserini's default, 4,096, let the JVM heap grow to 4.8 GiB of
#: RSS when indexing a million items; segments flushed at 512 MB are merged into one all the same.
INDEXING_BUFFER_MB = 512


def _open_lucene(lucene_dir: Path):
    """A Lucene reader over ``lucene_dir`` and a searcher on it."""
    start_jvm()
    from jnius import cast

    reader = autoclass("org.apache.lucene.index.DirectoryReader").open(
        autoclass("org.apache.lucene.store.FSDirectory").open(autoclass("java.io.File")(str(lucene_dir)).toPath())
    )
    searcher = autoclass("org.apache.lucene.search.IndexSearcher")(cast("org.apache.lucene.index.IndexReader", reader))
    return reader, searcher


class KeywordIndex(Index):
    """Lucene index over item texts; ``match`` picks the rule (``exact`` or ``bm25``)."""

    mode: ClassVar[str] = "keyword"

    def __init__(self, snapshot: Snapshot, directory: Path, meta: dict[str, Any], match: str = "exact") -> None:
        super().__init__(snapshot, directory, meta)
        if match not in RULES:
            raise QxError(f"unknown keyword match rule {match!r}; choose from {RULES}")
        self.match = match
        self._language = meta["params"]["language"]
        self._reader, self._searcher = _open_lucene(directory / LUCENE_DIR)
        self._searcher.setSimilarity(autoclass("org.apache.lucene.search.similarities.BM25Similarity")(BM25_K1, BM25_B))
        self._local = threading.local()
        self._doc_positions = np.load(directory / POSITIONS_FILE, allow_pickle=False)
        self._positions_are_docs = bool(np.array_equal(self._doc_positions, np.arange(len(self._doc_positions))))
        #: ``qx.LiveSearch``, or None (hits then read one by one: same results, slower).
        self.live_search = live_search_class()

    # ---- building ----------------------------------------------------------------------------
    @classmethod
    def _build(cls, snapshot: Snapshot, directory: Path, progress: bool, threads: int = 1, **_: Any) -> dict:
        """One indexing thread by default: Lucene doc ids then follow item order, so score ties at the
        top-k cut break the same way in every build (with several threads they vary between builds)."""
        docs = directory / "docs"
        docs.mkdir()
        texts = snapshot.text_column  # read slice by slice, never a list of every text
        shards = max(1, min(threads, len(texts) // 1000 or 1))
        bounds = np.linspace(0, len(texts), shards + 1).astype(int)
        for shard in tqdm(range(shards), desc="keyword: write docs", disable=not progress):
            with open(docs / f"part{shard}.jsonl", "w", encoding="utf-8") as handle:
                for position, text in enumerate(texts.between(bounds[shard], bounds[shard + 1]),
                                                start=bounds[shard]):
                    handle.write(json.dumps({"id": str(position), FIELD: text}, ensure_ascii=False))
                    handle.write("\n")
        start_jvm()
        args = ["-collection", "JsonCollection", "-input", str(docs), "-index", str(directory / LUCENE_DIR),
                "-generator", "DefaultLuceneDocumentGenerator", "-threads", str(shards), "-storePositions",
                "-language", snapshot.language, "-optimize", "-memoryBuffer", str(INDEXING_BUFFER_MB), "-quiet"]
        if progress:
            print(f"keyword: Lucene indexing {len(texts):,} items ({snapshot.language} analyzer)", flush=True)
        autoclass("io.anserini.index.IndexCollection").main(args)
        for file in docs.iterdir():
            file.unlink()
        docs.rmdir()
        np.save(directory / POSITIONS_FILE, cls._positions_in_doc_order(directory / LUCENE_DIR, len(texts)))
        return {"language": snapshot.language, "analyzer": "cjk" if snapshot.language == "zh" else "english",
                "bm25": [BM25_K1, BM25_B]}

    @staticmethod
    def _positions_in_doc_order(lucene_dir: Path, count: int) -> np.ndarray:
        """Item position of every Lucene document, read in one call (stored ids are positions)."""
        reader, searcher = _open_lucene(lucene_dir)
        live_search = live_search_class()
        try:
            if live_search is not None:
                positions = np.asarray(live_search.storedInts(reader, ID_FIELD), dtype=np.int64)
            else:
                positions = KeywordIndex._positions_by_search(reader, searcher)
        finally:
            reader.close()
        if len(positions) != count:
            raise QxError(f"the Lucene index holds {len(positions)} documents, the snapshot {count} items")
        return positions

    @staticmethod
    def _positions_by_search(reader, searcher) -> np.ndarray:
        """The stored ids without ``qx.LiveSearch``: every document as a hit (3.7 GiB at 1M items)."""
        top = searcher.search(autoclass("org.apache.lucene.search.MatchAllDocsQuery")(), max(1, reader.maxDoc()))
        scored = autoclass("io.anserini.search.ScoredDocs").fromTopDocs(top, searcher)
        positions = np.empty(reader.maxDoc(), dtype=np.int64)
        positions[np.asarray(scored.lucene_docids, dtype=np.int64)] = np.asarray(scored.docids, dtype=np.int64)
        return positions

    @classmethod
    def _open(cls, snapshot: Snapshot, directory: Path, meta: dict, match: str = "exact", **_: Any) -> KeywordIndex:
        return cls(snapshot, directory, meta, match=match)

    # ---- searching ----------------------------------------------------------------------------
    def _query_builder(self):
        """A Lucene QueryBuilder per thread, over the analyzer the index was built with."""
        builder = getattr(self._local, "builder", None)
        if builder is None:
            if self._language == "zh":
                analyzer = autoclass("org.apache.lucene.analysis.cjk.CJKAnalyzer")()
            else:
                analyzer = autoclass("io.anserini.analysis.DefaultEnglishAnalyzer").newDefaultInstance()
            builder = self._local.builder = autoclass("org.apache.lucene.util.QueryBuilder")(analyzer)
        return builder

    def lucene_query(self, query: str, match: str | None = None):
        """The Lucene query object for ``query``, cleaned as every search is (so any text gives a
        query of at most :data:`~indexes.MAX_QUERY_CHARS` characters' terms); ``None`` when it
        analyses to no terms."""
        return self._analysed_query(clean_query(query), match)

    def _analysed_query(self, text: str, match: str | None = None):
        if not text:
            return None
        builder = self._query_builder()
        if (match or self.match) == "exact":
            return builder.createPhraseQuery(FIELD, text)
        return builder.createBooleanQuery(FIELD, text)

    def count(self, query: str) -> int:
        """How many items match ``query`` under this index's rule (0 for an empty query)."""
        lucene_query = self.lucene_query(query)
        return 0 if lucene_query is None else int(self._searcher.count(lucene_query))

    def _search(self, query: str, n: int) -> Hits:
        if self.live_search is not None:
            return self._search_arrays([query], n, None)[0]
        lucene_query = self._analysed_query(query)
        if lucene_query is None:
            return Hits.empty()
        top = self._searcher.search(lucene_query, n)
        docs = top.scoreDocs
        if not docs:
            return Hits.empty()
        doc_ids = np.fromiter((d.doc for d in docs), dtype=np.int64, count=len(docs))
        scores = np.fromiter((d.score for d in docs), dtype=np.float32, count=len(docs))
        return Hits(self._doc_positions[doc_ids], scores)

    def _search_live(self, text: str, k: int, alive: np.ndarray) -> Hits | None:
        if self.live_search is None:
            return None
        return self._search_arrays([text], k, alive)[0]

    def batch_search(self, queries, k: int = 100, alive: np.ndarray | None = None, threads: int = 2,
                     processes: int = 0) -> list[Hits]:
        """Many queries in one JVM call on ``threads`` Java threads (``processes`` > 1: worker processes,
        see :meth:`indexes.Index.batch_search`); the same hits as :meth:`search` one by one."""
        if self.live_search is None or processes > 1:
            return super().batch_search(queries, k, alive, threads=threads, processes=processes)
        if k < 1:
            raise QxError(f"k must be at least 1, got {k}")
        return self._search_arrays([clean_query(q) for q in queries], k, alive, threads)

    def _search_arrays(self, texts: list[str], n: int, alive: np.ndarray | None, threads: int = 1) -> list[Hits]:
        """The top ``n`` live hits of each cleaned text through ``qx.LiveSearch``, in one call."""
        queries = [self._analysed_query(text) if text else None for text in texts]
        searched = [q for q in queries if q is not None]
        results = [Hits.empty()] * len(texts)
        if not searched:
            return results
        found = self.live_search.search(self._searcher, searched, n, self._live_docs(alive), threads)
        docs = np.asarray(found.docs, dtype=np.int64)
        scores = np.asarray(found.scores, dtype=np.float32)
        ends = np.asarray(found.ends, dtype=np.int64)
        starts = np.concatenate([[0], ends[:-1]])
        slots = (i for i, q in enumerate(queries) if q is not None)
        for slot, start, end in zip(slots, starts, ends):
            if end > start:
                results[slot] = Hits(self._doc_positions[docs[start:end]], scores[start:end])
        return results

    def _live_docs(self, alive: np.ndarray | None):
        """The live items as a Lucene bitset over document ids (None: every item is live); the last
        one is reused while the mask is unchanged (an env's steps between removals)."""
        if alive is None:
            return None
        cached = getattr(self._local, "live", None)
        if cached is not None and same_mask(cached[0], alive):
            return cached[1]
        if alive.all():
            bits = None
        else:
            in_doc_order = alive if self._positions_are_docs else alive[self._doc_positions]
            packed = np.packbits(in_doc_order, bitorder="little")
            packed = np.pad(packed, (0, -len(packed) % 8))
            bits = self.live_search.liveDocs(packed.tobytes(), len(in_doc_order))
        self._local.live = (alive.copy(), bits)
        return bits

    def close(self) -> None:
        self._reader.close()
