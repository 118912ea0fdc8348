"""A read-only sequence of strings over an Arrow string column, for corpora too large to hold as a
Python list (ten million listings as ``str`` objects take 2.2 GiB beside the Arrow table's 2.4)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pyarrow as pa

#: Strings converted to Python at a time while iterating.
ITER_CHUNK = 100_000


class TextColumn(Sequence):
    """``column`` as a ``Sequence[str]``: a slice is a ``list[str]`` made from that slice alone, an
    index one ``str``, and iteration converts :data:`ITER_CHUNK` strings at a time."""

    def __init__(self, column: pa.ChunkedArray | pa.Array) -> None:
        self.column = column

    def __len__(self) -> int:
        return len(self.column)

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self.column))
            if step != 1:  # any other step (negative ones too) by the positions it names
                return self.column.take(pa.array(range(start, stop, step), pa.int64())).to_pylist()
            return self.column.slice(start, max(0, stop - start)).to_pylist()
        return self.column[key].as_py()

    def between(self, start: int, stop: int) -> TextColumn:
        """Items ``start`` to ``stop`` as a column of their own (nothing converted yet)."""
        return TextColumn(self.column.slice(start, max(0, stop - start)))

    def __iter__(self) -> Iterator[str]:
        for start in range(0, len(self.column), ITER_CHUNK):
            yield from self.column.slice(start, ITER_CHUNK).to_pylist()
