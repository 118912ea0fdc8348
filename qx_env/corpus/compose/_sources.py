"""Reading labelled text from files: a declarative :class:`Source` per file and column mapping.

Presets are lists of sources; the generic loader is a source made from command-line flags.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from qx_env.errors import CorpusSourceError

FORMATS = ("csv", "tsv", "json", "jsonl", "parquet", "lines")
_SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
                   ".parquet": "parquet", ".txt": "lines"}
#: Column that ``lines`` files get for their file name (without suffix).
FILE_COLUMN = "file"
_CJK_GAP = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]) +(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Source:
    """One input file and how its columns map to items.

    ``label_col`` names the label column; its values are 0/1, or ``toxic_values`` lists the
    values meaning toxic (everything else is normal). Without a label column, ``label`` gives a
    constant label. ``category_col`` or a constant ``category`` gives the category; ``keep``
    filters rows (``{"label": [0]}``). ``join_cjk`` removes the spaces of pre-tokenised Chinese.
    """

    path: str
    text_col: str
    name: str = ""
    format: str | None = None
    label_col: str | None = None
    toxic_values: tuple = ()
    label: int | None = None
    category_col: str | None = None
    category: str | None = None
    keep: tuple[tuple[str, tuple], ...] = ()
    join_cjk: bool = False

    def resolve(self, data_dir: Path | None) -> Path:
        path = Path(self.path)
        if not path.is_absolute() and data_dir is not None:
            path = data_dir / path
        if not path.is_file():
            hint = f" (is --data-dir right? it is {data_dir})" if data_dir is not None else ""
            raise CorpusSourceError(f"source file {path} does not exist{hint}")
        return path

    def file_format(self, path: Path) -> str:
        fmt = self.format or _SUFFIX_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise CorpusSourceError(
                f"{path}: cannot tell the format from the suffix {path.suffix!r}; give one of {FORMATS}"
            )
        if fmt not in FORMATS:
            raise CorpusSourceError(f"{path}: unknown format {fmt!r}; choose from {FORMATS}")
        return fmt


def _read_frame(path: Path, fmt: str) -> pd.DataFrame:
    try:
        if fmt in ("csv", "tsv"):
            return pd.read_csv(path, sep="," if fmt == "csv" else "\t", encoding="utf-8-sig", dtype=str,
                               keep_default_na=False, quoting=3 if fmt == "tsv" else 0)
        if fmt == "json":
            data = json.loads(path.read_text(encoding="utf-8-sig"))
            if not isinstance(data, list):
                raise CorpusSourceError(f"{path}: a JSON source must hold a list of objects")
            return pd.DataFrame(data)
        if fmt == "jsonl":
            return pd.read_json(path, lines=True, dtype=False)
        if fmt == "parquet":
            return pd.read_parquet(path)
        lines = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()]
        return pd.DataFrame({"text": [x for x in lines if x], FILE_COLUMN: path.stem})
    except CorpusSourceError:
        raise
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise CorpusSourceError(f"{path}: cannot read it as {fmt} ({exc})") from None


def _column(frame: pd.DataFrame, name: str, role: str, path: Path) -> pd.Series:
    if name not in frame.columns:
        raise CorpusSourceError(
            f"{path}: no column {name!r} for the {role}; its columns are {', '.join(map(str, frame.columns))}"
        )
    return frame[name]


def normalize_text(text: str, join_cjk: bool = False) -> str:
    """Strip byte-order marks and control characters, collapse whitespace."""
    text = text.replace("\ufeff", "")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = _SPACES.sub(" ", text).strip()
    return _CJK_GAP.sub("", text) if join_cjk else text


def read_source(source: Source, data_dir: Path | None = None) -> pd.DataFrame:
    """Read a source into a frame with columns ``text, label, category, source, source_row``."""
    path = source.resolve(data_dir)
    frame = _read_frame(path, source.file_format(path))
    for column, allowed in source.keep:
        values = _column(frame, column, "row filter", path)
        frame = frame[values.astype(str).isin([str(v) for v in allowed])]
    texts = _column(frame, source.text_col, "text", path).astype(str)
    if source.label_col is not None:
        raw = _column(frame, source.label_col, "label", path)
        if source.toxic_values:
            labels = raw.astype(str).isin([str(v) for v in source.toxic_values]).astype("int8")
        else:
            as_text = raw.astype(str).str.strip()
            bad = ~as_text.isin(["0", "1", "0.0", "1.0", "True", "False", "true", "false"])
            if bad.any():
                values = sorted(set(as_text[bad]))[:8]
                raise CorpusSourceError(
                    f"{path}: label column {source.label_col!r} holds values other than 0/1 "
                    f"(e.g. {values}); name the toxic ones with --toxic-values"
                )
            labels = as_text.isin(["1", "1.0", "True", "true"]).astype("int8")
    elif source.label in (0, 1):
        labels = pd.Series(source.label, index=frame.index, dtype="int8")
    else:
        raise CorpusSourceError(f"{path}: give a label column (--label-col) or a constant label 0/1")
    if source.category_col is not None:
        categories = _column(frame, source.category_col, "category", path).astype(str).str.replace("__", ":")
    else:
        categories = pd.Series(source.category or source.name or path.stem, index=frame.index)
    out = pd.DataFrame({
        "text": [normalize_text(t, source.join_cjk) for t in texts],
        "label": labels.to_numpy(),
        "category": categories.to_numpy(),
        "source": source.name or path.name,
        "source_row": frame.index.to_numpy(),
    })
    return out[out["text"].str.len() > 0]
