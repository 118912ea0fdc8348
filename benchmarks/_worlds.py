"""A suite's worlds as a frozen, versioned spec: a small JSON file (language, size, toxic share, seeds,
encoder, split rule, the split evaluated, k) whose hash every result carries, so a result can be cited
as "suite zh-1M v1" and reproduced byte for byte. Shipped specs live in ``benchmarks/suites/``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from qx_env.errors import QxError
from qx_env.jsonl import read_json_object

SUITES_DIR = Path(__file__).resolve().parent / "suites"
#: Keys a spec file must hold, and what each is.
SPEC_KEYS = {
    "name": "the suite's name, e.g. zh-1M",
    "version": "a whole number, raised whenever anything below changes",
    "language": "zh or en",
    "items": "listings per world",
    "toxic_share": "share of toxic listings",
    "seeds": "one world per seed",
    "encoder": "the embedding index's encoder (auto, use, e5, ngram)",
    "split": '{"rule": "campaign" or "time", "fractions": [train, dev, test]}',
    "evaluate": "the split whose reports are explored (test)",
    "k": "items exposed per query",
}
#: Fewest reports a world must be expected to hold in the evaluated split.
MIN_EVALUATED_REPORTS = 5


@dataclass(frozen=True)
class WorldSpec:
    """A parsed suite spec and where it came from."""

    raw: dict
    path: Path

    @property
    def name(self) -> str:
        return self.raw["name"]

    @property
    def version(self) -> int:
        return self.raw["version"]

    @property
    def seeds(self) -> list[int]:
        return list(self.raw["seeds"])

    @property
    def hash(self) -> str:
        """sha256 of the spec's canonical JSON (sorted keys, no description), first 12 hex digits."""
        content = {k: v for k, v in self.raw.items() if k != "description"}
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        """``suite zh-1M v1 (a1b2c3d4e5f6)``: how results cite it."""
        return f"suite {self.name} v{self.version} ({self.hash})"

    @property
    def directory_name(self) -> str:
        """The worlds' folder, named by what makes a world (language, size, share, encoder, split), not by
        the suite: two suites that differ only in seeds, policies' split evaluated or k share their worlds."""
        split = self.raw["split"]
        fractions = "-".join(f"{f:g}" for f in split["fractions"])
        return (f"{self.raw['language']}-{self.raw['items']}-p{self.raw['toxic_share']:g}-{self.raw['encoder']}-"
                f"{split['rule']}-{fractions}")

    def synth_config(self, seed: int):
        """The generator's configuration of the world of ``seed``."""
        from qx_env.corpus import SynthConfig

        split = self.raw["split"]
        return SynthConfig(language=self.raw["language"], items=self.raw["items"], toxic_share=self.raw["toxic_share"],
                           seed=seed, split_by=split["rule"], split_fractions=tuple(split["fractions"]))

    def as_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "hash": self.hash, "path": str(self.path), **self.raw}


def load_spec(name_or_path: str) -> WorldSpec:
    """A spec by name (``zh-1M-v1``, a file of ``benchmarks/suites/``) or by path; refused in one line
    naming the file and the problem when it cannot be read or its values cannot make a world."""
    path = Path(name_or_path)
    if not path.is_file():
        shipped = SUITES_DIR / f"{name_or_path}.json"
        if not shipped.is_file():
            names = ", ".join(sorted(p.stem for p in SUITES_DIR.glob("*.json")))
            raise QxError(f"no suite spec {name_or_path!r}: give a spec file or one of {names}")
        path = shipped
    raw = read_json_object(path, "suite spec")
    missing = [k for k in SPEC_KEYS if k not in raw]
    if missing:
        raise QxError(f"suite spec {path}: missing {', '.join(missing)} ({'; '.join(SPEC_KEYS[k] for k in missing)})")
    spec = WorldSpec(raw, path)
    check_spec(spec)
    return spec


def check_spec(spec: WorldSpec) -> None:
    """Refuse values that cannot make the worlds the spec describes, before any work."""
    from qx_env.snapshot import SPLIT_RULES, SPLITS

    raw, where = spec.raw, f"suite spec {spec.path}"
    if not isinstance(raw["version"], int) or raw["version"] < 1:
        raise QxError(f"{where}: version must be a whole number >= 1, got {raw['version']!r}")
    seeds = raw["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds) \
            or len(set(seeds)) != len(seeds):
        raise QxError(f"{where}: seeds must be a list of distinct whole numbers >= 0, got {seeds!r}")
    split = raw["split"]
    if not isinstance(split, dict) or split.get("rule") not in SPLIT_RULES or not isinstance(split.get("fractions"), list):
        raise QxError(f"{where}: split must be {SPEC_KEYS['split']}, got {split!r}")
    if raw["evaluate"] not in SPLITS:
        raise QxError(f"{where}: evaluate must be one of {', '.join(SPLITS)}, got {raw['evaluate']!r}")
    if not isinstance(raw["k"], int) or raw["k"] < 1:
        raise QxError(f"{where}: k must be a whole number >= 1, got {raw['k']!r}")
    try:
        config = spec.synth_config(seeds[0])
    except (ValueError, TypeError) as exc:
        raise QxError(f"{where}: {exc}") from None
    toxic = config.items * config.toxic_share
    share = dict(zip(SPLITS, split["fractions"]))[raw["evaluate"]]
    expected = toxic * config.report_share * share
    if expected < MIN_EVALUATED_REPORTS:
        raise QxError(f"{where}: {config.items:,} items at toxic share {config.toxic_share:g} give about {toxic:.0f} "
                      f"toxic items and {expected:.1f} {raw['evaluate']} reports a world (at least "
                      f"{MIN_EVALUATED_REPORTS} needed): raise items or toxic_share")


def ensure_world(spec: WorldSpec, seed: int, root: Path, modes: list[str], progress: bool = True):
    """The world of ``seed`` under ``root``: synthesized once, split by the spec's rule (re-split in place
    when made with another), with the indexes ``modes`` need built once; a snapshot there that another
    spec made is refused."""
    from dataclasses import asdict

    from indexes import build_indexes, ensure_indexes, required_modes
    from qx_env.corpus import synthesize
    from qx_env.snapshot import Snapshot, SplitRule

    path = root / spec.directory_name / f"seed-{seed}"
    config = spec.synth_config(seed)
    if not (path / "meta.json").is_file():
        synthesize(config, progress=progress).save(path, overwrite=path.exists())
    snapshot = Snapshot.load(path)
    made = snapshot.meta.generator.get("params", {})
    expected = {k: v for k, v in asdict(config).items() if k not in ("split_by", "split_fractions")}
    differs = sorted(k for k, v in expected.items() if json.dumps(made.get(k)) != json.dumps(v, default=list))
    if differs:
        raise QxError(f"{path} holds a world made with other settings ({', '.join(differs)}); move it away or give "
                      f"another --root")
    wanted = {"rule": spec.raw["split"]["rule"], "fractions": [float(f) for f in spec.raw["split"]["fractions"]]}
    current = {k: snapshot.meta.split.get(k) for k in ("rule", "fractions")}
    if current != wanted:
        seed_of_split = snapshot.meta.split.get("seed", seed)
        snapshot = snapshot.resplit(SplitRule(wanted["rule"], seed_of_split, tuple(wanted["fractions"])))
    needed = required_modes(["keyword", *modes])
    missing = [m for m in needed if not (path / "indexes" / m / "index.json").is_file()]
    if missing:
        build_indexes(snapshot, modes=missing, progress=progress, embedding={"encoder": spec.raw["encoder"]})
    ensure_indexes(snapshot, needed, build=True)  # a damaged one is rebuilt, with a warning naming the problem
    return snapshot
