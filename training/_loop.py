"""Iterative rounds: the model of round r proposes beam candidates, they are mined through the
search engine with the baselines' answers, DPO on the pairs gives the model of round r+1, which
is evaluated on held-out reports. Each round's directory is complete before the next starts, so
an interrupted loop resumes at the first unfinished round."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa

from qx_env.files import write_text_atomic
from qx_env.flags import SpecList
from qx_env.specs import format_spec
from training._datasets import pair_rows, write_jsonl
from training._feedback import mine_feedback, read_feedback
from training._train import TrainArgs, train_dpo

#: Policies whose search feedback the SFT data is mined from (the demo, the training headline).
BASELINES = ("annotation", "ngram", "tfidf")


@dataclass
class LoopArgs:
    snapshot: str
    """Snapshot directory to mine and evaluate on."""
    base: str
    """The starting model (usually an SFT model)."""
    out: str
    """Loop directory: one directory per round, loop.json."""
    rounds: int = 2
    """Rounds of mine -> DPO -> evaluate."""
    tau: float = 0.05
    """Pair threshold: answers at toxic ratio >= tau are chosen, below rejected (eq. 4)."""
    max_pairs: int = 2
    """Pairs per prompt, largest margins first."""
    candidates: int = 4
    """Beam candidates of the model per training report."""
    baselines: SpecList = ()
    """Policies whose answers join the model's candidates in the pairs ("": the model's own only, which gained more in the training headline)."""
    learning_rate: float = 1e-4
    """DPO learning rate."""
    epochs: float = 1.0
    """DPO passes over each round's pairs."""
    batch_size: int = 4
    """Pairs per optimizer step."""
    max_length: int = 512
    """Tokens per pair; longer ones are cut."""
    beta: float = 0.1
    """DPO beta: strength of the reference-model KL."""
    lora: bool = False
    """Train LoRA adapters instead of the full model."""
    eval_split: str = "dev"
    """Split each round's model is evaluated on."""
    grounded: bool = True
    """Extractive decoding: queries are spans of the report (policies._grounded)."""
    seed: int = 0
    """Training seed of every round; the same seed repeats the loop."""
    threads: int = 1
    """Torch CPU threads during training (0: torch's count)."""
    progress: bool = True
    """Progress bars while mining."""


def model_policy_spec(model: str | Path, adapter: str = "", grounded: bool = False, language: str = "") -> str:
    """The ``llm`` policy spec that evaluates a trained model: greedy, short answers, batched (``language``: the
    prompt's, where no snapshot gives it)."""
    return format_spec("llm", path=model, max_new_tokens=64, batch_size=16, adapter=adapter or None,
                       grounded=grounded or None, language=language or None)


def candidates_policy_spec(model: str | Path, args: LoopArgs, language: str = "") -> str:
    """The ``llm`` policy spec whose beam candidates a DPO round mines (``args.candidates`` beams)."""
    return format_spec("llm", path=model, num_beams=args.candidates, max_new_tokens=64,
                       grounded=args.grounded or None, language=language or None)


def dpo_train_args(args: LoopArgs, base: str | Path, data: str | Path, out: str | Path) -> TrainArgs:
    """DPO's :class:`TrainArgs` for one round of ``args`` from ``base`` on the pairs in ``data``."""
    return TrainArgs(base=str(base), data=str(data), out=str(out), lora=args.lora, learning_rate=args.learning_rate,
                     epochs=args.epochs, batch_size=args.batch_size, max_length=args.max_length, beta=args.beta,
                     seed=args.seed, threads=args.threads, save_steps=100_000)


def evaluate_model(snapshot, model: str | Path, split: str | Sequence[str] = "test", adapter: str = "",
                   grounded: bool = False) -> dict:
    """Table 5 row of a model's answers on a split (split names, or one name: see
    :func:`qx_env.flags.name_list`), keyword exact, with the number of distinct queries over all
    reports (a model that collapses onto one answer has few) and the per-report figures with each
    report's campaign (what a paired comparison of two models needs)."""
    from policies import make_policy
    from qx_env.metrics import evaluate_queries
    from qx_env.search import SearchSystem

    reports = snapshot.reports_in(split)
    policy = make_policy(model_policy_spec(model, adapter, grounded), snapshot)
    extracted = policy.extract(snapshot.report_texts(reports))
    ids = reports.column("report_id").to_pylist()
    evaluation = evaluate_queries(SearchSystem(snapshot), dict(zip(ids, extracted)))
    campaigns = dict(zip(ids, snapshot.report_campaigns(reports)))
    return {**evaluation.metrics.as_dict(), "distinct_queries": len({q for answer in extracted for q in answer}),
            "per_report": evaluation.per_report(campaigns)}


def dpo_round(snapshot, model: str | Path, work: Path, args: LoopArgs, baseline: pa.Table | None = None,
              tau: float | None = None) -> tuple[Path, int]:
    """Mine ``model``'s candidates (plus the baselines' feedback), build pairs, train DPO."""
    tau = args.tau if tau is None else tau
    spec = candidates_policy_spec(model, args)
    own = read_feedback(mine_feedback(snapshot, [spec], work / "feedback-model", candidates=args.candidates,
                                      progress=args.progress))
    feedback = own if baseline is None else pa.concat_tables([baseline, own])
    pairs = pair_rows(feedback, snapshot, tau=tau, max_pairs=args.max_pairs)
    data = write_jsonl(pairs, work / f"pairs-tau{tau}.jsonl")
    if not pairs:  # nothing to prefer: the model stays as it is
        return Path(model), 0
    final = train_dpo(dpo_train_args(args, model, data, work / f"dpo-tau{tau}"))
    return final, len(pairs)


def train_loop(args: LoopArgs) -> list[dict]:
    from qx_env.snapshot import Snapshot

    snapshot = Snapshot.load(args.snapshot)
    root = Path(args.out)
    baselines = list(args.baselines)
    baseline = read_feedback(mine_feedback(snapshot, baselines, root / "feedback-baselines",
                                           progress=args.progress)) if baselines else None
    model, history = Path(args.base), []
    for number in range(1, args.rounds + 1):
        work = root / f"round{number}"
        summary = work / "round.json"
        if summary.is_file():  # finished before an interruption
            record = json.loads(summary.read_text())
        else:
            final, pairs = dpo_round(snapshot, model, work, args, baseline)
            record = {"round": number, "model": str(final), "pairs": pairs,
                      args.eval_split: evaluate_model(snapshot, final, args.eval_split, grounded=args.grounded)}
            write_text_atomic(summary, json.dumps(record, indent=2))
        history.append(record)
        model = Path(record["model"])
    (root / "loop.json").write_text(json.dumps({"args": asdict(args), "rounds": history}, indent=2))
    return history
