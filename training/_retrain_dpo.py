"""Retraining through the mining and DPO pipeline while weeks go by online (issue 31, item 3): the ``fit`` of a
:class:`qx_env.online.Retrain` source. At each training the current model proposes beam candidates for every
report filed so far (its listing's text as posted), the candidates' queries are searched on the platform as it
stands (the run's probe: nothing is taken down), answers are paired by eq. 4 as :func:`training.dpo_round`
pairs them, and DPO from the current model gives the next one. The queries the next weeks ask are the new
model's. The first model is ``args.base`` (an SFT model, or any causal LM on disk)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from qx_env.errors import QxError
from qx_env.jsonl import write_jsonl
from training._datasets import report_pairs
from training._loop import LoopArgs, candidates_policy_spec, dpo_train_args, model_policy_spec
from training._train import train_dpo

#: Name of the model's answers in the pairs (``chosen_policy``/``rejected_policy``).
MODEL = "model"


class DPORetrainer:
    """A ``fit(reports, probe)`` for :class:`qx_env.online.Retrain`: mine, pair, DPO, each training in
    ``args.out/fitN`` (its pairs, its model). ``args``: :class:`training.LoopArgs` (``snapshot``, ``rounds`` and
    ``eval_split`` are not used: the reports are the run's). ``trainings`` records each one: reports, queries
    probed, pairs, the model it gave. ``args.baselines``: empty (the model's own answers, as the training
    headline found best) or ``annotation`` (the auditors' marks on each filed report join them)."""

    def __init__(self, args: LoopArgs, language: str) -> None:
        unknown = sorted(set(args.baselines) - {"annotation"})
        if unknown:
            raise QxError(f"retraining online pairs the model's answers with the auditors' marks on the filed "
                          f"reports (baselines=annotation) at most; other baselines are not run online: {unknown}")
        if not Path(args.base).is_dir():
            raise QxError(f"the model to retrain from is not a directory: {args.base} (make one with `qx model "
                          "tiny` or train SFT first)")
        self.args, self.language = args, language
        self.model = Path(args.base)
        self.trainings: list[dict] = []

    def candidates(self, texts: list[str]) -> list[list[list[str]]]:
        """The current model's beam candidates for each text."""
        from policies import make_policy

        policy = make_policy(candidates_policy_spec(self.model, self.args, self.language))
        return [policy.candidates(text, self.args.candidates) for text in texts]

    def __call__(self, reports: Sequence, probe: Callable[[Sequence[str]], list[tuple[int, int]]]):
        from policies import make_policy

        work = Path(self.args.out) / f"fit{len(self.trainings) + 1}"
        texts = {r.report_id: r.text for r in reports}
        ids = list(texts)
        proposed = self.candidates([texts[i] for i in ids])
        given = {(r.report_id, "annotation"): [list(r.annotations)] for r in reports if "annotation" in self.args.baselines}
        asked = {(report, MODEL): candidates for report, candidates in zip(ids, proposed)} | given
        queries = list(dict.fromkeys(q.strip() for answers in asked.values() for a in answers for q in a if q.strip()))
        outcome = dict(zip(queries, probe(queries)))
        answers: dict = defaultdict(dict)
        for (report, source), candidates in asked.items():
            for number, answer in enumerate(candidates):
                kept = list(dict.fromkeys(q.strip() for q in answer if q.strip()))
                answers[report][source, number] = [(q, *outcome[q]) for q in kept]
        pairs = report_pairs(answers, texts, self.language, self.args.tau, self.args.max_pairs)
        data = write_jsonl(pairs, work / f"pairs-tau{self.args.tau}.jsonl")
        record = {"reports": len(ids), "queries": len(queries), "pairs": len(pairs), "model": str(self.model)}
        if not pairs:  # nothing to prefer yet: the source keeps what it asks
            self.trainings.append(record)
            return None
        self.model = train_dpo(dpo_train_args(self.args, self.model, data, work / "dpo"))
        self.trainings.append({**record, "model": str(self.model)})
        return make_policy(model_policy_spec(self.model, grounded=self.args.grounded, language=self.language))
