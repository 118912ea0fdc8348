"""On-policy RL against the environment itself: trl's GRPOTrainer, whose rewards step the simulated
search engine. Each sampled answer is parsed, its queries searched (the reports' own items taken
down, static dynamics), and rewarded for the toxic items it finds; a second reward term penalises
an answer that is not in the paper's format. trl logs each reward term separately."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qx_env.errors import QxError
from qx_env.parsers import parse_answer
from training._reproducible import reproducible
from training._train import TrainArgs, _common, _load, _peft_config, _run


@dataclass
class GRPOArgs(TrainArgs):
    snapshot: str = ""
    """Snapshot directory whose search engine rewards the answers."""
    split: str = "train"
    """Comma-separated splits whose reports are the prompts."""
    modes: str = "keyword"
    """Comma-separated retrieval modes the answers' queries run in."""
    k: int = 100
    """Items exposed per query."""
    num_generations: int = 4
    """Sampled answers per prompt (one GRPO group)."""
    max_completion_length: int = 64
    """Tokens per sampled answer."""
    temperature: float = 1.0
    """Sampling temperature of the answers."""


class EnvironmentRewards:
    """Reward terms computed by running answers through the search system of a snapshot."""

    def __init__(self, snapshot, modes: str = "keyword", k: int = 100) -> None:
        from qx_env.search import AuditedSearch, SearchSystem

        self.snapshot = snapshot
        self.system = SearchSystem(snapshot, modes=modes.split(","), k=k, candidates=max(k, 1000))
        reported = [snapshot.position_of[i] for i in snapshot.reports.column("item_id").to_pylist()]
        self.audit = AuditedSearch(self.system, "static", known=reported)
        self.samples: list[tuple[str, tuple[str, ...], int]] = []  # last answers, for the run card

    def _text(self, completion) -> str:
        return completion[-1]["content"] if isinstance(completion, list) else str(completion)

    def toxic_found(self, prompts, completions, report_id=None, **_) -> list[float]:
        """log(1 + distinct toxic items found by the answer's queries)."""
        rewards = []
        for number, completion in enumerate(completions):
            parsed = parse_answer(self._text(completion))
            outcomes = self.audit.run_many(list(parsed.queries)) if parsed.queries else []
            found = np.unique(np.concatenate([o.toxic for o in outcomes])) if outcomes else np.empty(0)
            rewards.append(float(np.log1p(len(found))))
            if report_id is not None and number < 2:
                self.samples = ([*self.samples, (report_id[number], parsed.queries, len(found))])[-20:]
        return rewards

    def format(self, prompts, completions, **_) -> list[float]:
        """0 for an answer in the paper's format with at least one query, else -1."""
        return [0.0 if parse_answer(self._text(c)).well_formed else -1.0 for c in completions]


def train_grpo(args: GRPOArgs):
    """GRPO from ``args.base`` on the prompts of the split's reports."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from policies import messages
    from qx_env.snapshot import Snapshot

    if not args.snapshot:
        raise QxError("GRPO needs --snapshot: the environment it is rewarded by")
    snapshot = Snapshot.load(args.snapshot)
    reports = snapshot.reports_in(args.split.split(","))
    texts = snapshot.report_texts(reports)
    rows = [{"prompt": messages(t, snapshot.language), "report_id": r}
            for t, r in zip(texts, reports.column("report_id").to_pylist())]
    rewards = EnvironmentRewards(snapshot, args.modes, args.k)
    args.data = str(snapshot.path / "reports.parquet")
    with reproducible(args.seed, args.threads) as settings:
        tokenizer, model = _load(args)
        tokenizer.padding_side = "left"
        common = _common(args)
        common.pop("max_length")
        config = GRPOConfig(**common, num_generations=args.num_generations,
                            max_completion_length=args.max_completion_length, temperature=args.temperature,
                            generation_batch_size=max(args.num_generations, args.batch_size), beta=args.beta,
                            log_completions=False)
        trainer = GRPOTrainer(model=model, reward_funcs=[rewards.toxic_found, rewards.format], args=config,
                              train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                              peft_config=_peft_config(args))
        return _run(trainer, args, "grpo", len(rows), settings, extra={"samples": rewards.samples})
