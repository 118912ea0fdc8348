"""On-policy RL against the environment itself: trl's GRPOTrainer, whose rewards step the simulated
search engine. Each sampled answer is parsed, its queries searched (the reports' own items taken
down, static dynamics), and rewarded for the toxic items it finds; a second reward term penalises
an answer that is not in the paper's format. trl logs each reward term separately.

With ``tools=True`` the rollouts instead call the search tool: trl's ``environment_factory`` is
:class:`training.SearchEnvironment`, each rollout one episode on its report (removal dynamics), and
the reward is the episode's (``reward``). A fresh model calls no tool; warm-start it with SFT on
:func:`training.tool_call_rows` (``qx mine toolcalls``) made with the same environment options."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qx_env.errors import QxError
from qx_env.parsers import parse_answer
from qx_env.rewards import REWARDS
from qx_env.types import StepOutcome
from training._reproducible import reproducible
from training._train import TrainArgs, _common, _load, _peft_config, _run


@dataclass
class GRPOArgs(TrainArgs):
    snapshot: str = ""
    """Snapshot directory whose search engine rewards the answers."""
    split: tuple[str, ...] = ("train",)
    """Splits whose reports are the prompts, comma-separated."""
    modes: tuple[str, ...] = ("keyword",)
    """Retrieval modes the answers' queries run in, comma-separated."""
    k: int = 100
    """Items exposed per query."""
    num_generations: int = 4
    """Sampled answers per prompt (one GRPO group)."""
    max_completion_length: int = 64
    """Tokens per sampled answer."""
    temperature: float = 1.0
    """Sampling temperature of the answers."""
    tools: bool = False
    """Rollouts call the search tool (training.SearchEnvironment as trl's environment_factory) and earn their
    episode's reward, instead of answering once in the paper's format."""
    max_tool_calls: int = 2
    """With --tools: tool-calling rounds per rollout (trl's max_tool_calling_iterations)."""
    budget: int = 5
    """With --tools: searches per episode (as in qx mine toolcalls)."""
    reward: str = "new_toxic"
    """With --tools: the episode's reward spec, as ExploreEnv's (as in qx mine toolcalls)."""
    observe_results: int = 3
    """With --tools: result texts the tool shows per search (as in qx mine toolcalls)."""
    result_chars: int = 200
    """With --tools: characters of each result text shown (as in qx mine toolcalls)."""


class EnvironmentRewards:
    """GRPO reward functions from the env's reward terms (:mod:`qx_env.rewards`), computed by running
    each sampled answer's queries through the search system of a snapshot (the reports' own items taken
    down, static dynamics). Each function is named after its term, so trl logs ``rewards/<term>``.
    ``modes``: retrieval mode names, or one string of them (see :func:`qx_env.flags.name_list`)."""

    #: The default terms: toxic items the answer finds (log-scaled) and the paper's answer format.
    TERMS = ("distinct_toxic_log", "format")

    def __init__(self, snapshot, modes: str | Sequence[str] = "keyword", k: int = 100,
                 terms: Sequence[str] = TERMS) -> None:
        from qx_env.search import AuditedSearch, SearchSystem

        self.snapshot = snapshot
        self.k = k
        unknown = [t for t in terms if t not in REWARDS]
        if unknown or not terms:
            raise QxError(f"unknown GRPO reward term(s) {unknown or '(none given)'}; choose from {', '.join(REWARDS)}")
        self.system = SearchSystem(snapshot, modes=modes, k=k)
        reported = [snapshot.position_of[i] for i in snapshot.reports.column("item_id").to_pylist()]
        self.audit = AuditedSearch(self.system, "static", known=reported)
        self.samples: list[tuple[str, tuple[str, ...], int]] = []  # last answers, for the run card
        self._searched: dict[str, StepOutcome] = {}
        self.reward_funcs = [self._reward_function(term) for term in terms]

    def step(self, completion) -> StepOutcome:
        """What the answer did as one env step: its parsed queries searched, its format judged."""
        text = completion[-1]["content"] if isinstance(completion, list) else str(completion)
        if text not in self._searched:
            if len(self._searched) > 4096:  # answers of earlier batches
                self._searched.clear()
            parsed = parse_answer(text)
            outcomes = self.audit.run_many(list(parsed.queries)) if parsed.queries else []
            self._searched[text] = StepOutcome(tuple(outcomes), self.k, parsed.well_formed)
        return self._searched[text]

    def _reward_function(self, term: str):
        compute = REWARDS[term].compute

        def reward(prompts, completions, report_id=None, **_) -> list[float]:
            steps = [self.step(c) for c in completions]
            if report_id is not None and term == self.reward_funcs[0].__name__:
                for number, step in list(enumerate(steps))[:2]:
                    found = len({p for q in step.queries for p in q.toxic.tolist()})
                    self.samples = [*self.samples, (report_id[number], tuple(q.query for q in step.queries), found)][-20:]
            return [compute(step) for step in steps]

        reward.__name__ = reward.__qualname__ = term
        reward.__doc__ = REWARDS[term].description
        return reward


def train_grpo(args: GRPOArgs):
    """GRPO from ``args.base`` on the prompts of the split's reports."""
    from datasets import Dataset
    from trl import GRPOTrainer

    from policies import messages
    from qx_env.snapshot import Snapshot

    if not args.snapshot:
        raise QxError("GRPO needs --snapshot: the environment it is rewarded by")
    if args.tools:
        return _train_grpo_tools(args)
    snapshot = Snapshot.load(args.snapshot)
    reports = snapshot.reports_in(args.split)
    texts = snapshot.report_texts(reports)
    rows = [{"prompt": messages(t, snapshot.language), "report_id": r}
            for t, r in zip(texts, reports.column("report_id").to_pylist())]
    rewards = EnvironmentRewards(snapshot, args.modes, args.k)
    args.data = str(snapshot.path / "reports.parquet")
    with reproducible(args.seed, args.threads) as settings:
        tokenizer, model, config = _grpo_setup(args)
        trainer = GRPOTrainer(model=model, reward_funcs=rewards.reward_funcs, args=config,
                              train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                              peft_config=_peft_config(args))
        return _run(trainer, args, "grpo", len(rows), settings, extra={"samples": rewards.samples})


def _grpo_setup(args: GRPOArgs, **config):
    """The tokenizer (left padding), model and GRPOConfig every GRPO run shares; ``config`` adds options."""
    from trl import GRPOConfig

    tokenizer, model = _load(args)
    tokenizer.padding_side = "left"
    common = _common(args)
    common.pop("max_length")
    return tokenizer, model, GRPOConfig(**common, num_generations=args.num_generations,
                                        max_completion_length=args.max_completion_length,
                                        temperature=args.temperature,
                                        generation_batch_size=max(args.num_generations, args.batch_size),
                                        beta=args.beta, log_completions=False, **config)


def tool_environment_options(args: GRPOArgs) -> dict:
    """The :class:`training.SearchEnvironment` options of a ``--tools`` run."""
    return {"modes": args.modes, "k": args.k, "split": args.split, "budget": args.budget, "reward": args.reward,
            "observe_results": args.observe_results, "result_chars": args.result_chars, "seed": args.seed}


def _train_grpo_tools(args: GRPOArgs):
    """GRPO whose rollouts call the search tool: trl's ``environment_factory`` with :class:`SearchEnvironment`."""
    import os

    from datasets import Dataset
    from trl import GRPOTrainer
    from trl.chat_template_utils import supports_tool_calling

    from qx_env.adapters import SearchEnvironment, tool_rows
    from qx_env.snapshot import Snapshot

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # environment_factory is experimental in trl 1.x
    factory = SearchEnvironment.factory(args.snapshot, **tool_environment_options(args))
    rows = tool_rows(args.snapshot, args.split)
    args.data = str(Snapshot.load(args.snapshot).path / "reports.parquet")
    with reproducible(args.seed, args.threads) as settings:
        tokenizer, model, config = _grpo_setup(args, max_tool_calling_iterations=args.max_tool_calls)
        if not supports_tool_calling(tokenizer):
            raise QxError(f"{args.base}: its chat template renders no tool calls; build the model with `qx model tiny` "
                          "(qwen2.5 template) or use a model whose template supports tools")
        trainer = GRPOTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                              peft_config=_peft_config(args), environment_factory=factory)
        return _run(trainer, args, "grpo", len(rows), settings, extra={"environment": tool_environment_options(args)})
