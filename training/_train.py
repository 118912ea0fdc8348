"""SFT and DPO with trl (+ peft LoRA), with the paper's defaults: LoRA on all linear modules, AdamW,
lr 3e-5, SFT 2 epochs, DPO 5 epochs, beta 0.1, loss = DPO + 1.0 x SFT, max length 2048.

Read top to bottom: arguments (a dataclass), data, model, trainer, run card. Checkpoints go to
``out/checkpoint-*``, each with the sha256 of its files once saved; an interrupted run resumes from
the last complete one (a damaged one is refused); the result is ``out/final`` (a LoRA adapter to
load on the base model, or the full model without LoRA) and ``out/run_card.json``, both written
atomically, never outside ``out``, with ``out/training.png`` (the logged curves). Runs repeat:
the same seed gives the same weights and log on one machine (:mod:`training._reproducible`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qx_env.errors import QxError
from qx_env.files import (
    atomic_directory,
    checksum_problem,
    claim_output_dir,
    file_sha256,
    inside,
    tree_checksums,
    write_text_atomic,
)
from training._datasets import read_jsonl
from training._reproducible import reproducible, trainer_seeds

CHECKSUMS_FILE = "qx_checksums.json"  # in each checkpoint: sha256 of its files, written once it is saved


@dataclass
class TrainArgs:
    base: str
    """Local model directory to start from (e.g. from `qx model tiny`)."""
    out: str
    """Run directory: checkpoints, final model, run_card.json, training.png."""
    data: str = ""
    """JSONL from `qx mine sft` (prompt/completion) or `qx mine pairs` (prompt/chosen/rejected)."""
    lora: bool = True
    """Train a LoRA adapter on all linear modules (else the full model)."""
    lora_rank: int = 16
    """LoRA rank r."""
    lora_alpha: int = 32
    """LoRA scaling alpha."""
    learning_rate: float = 3e-5
    """AdamW learning rate."""
    epochs: float = 2.0
    """Passes over the data."""
    batch_size: int = 4
    """Rows per device per optimizer step (before accumulation)."""
    gradient_accumulation: int = 1
    """Batches accumulated per optimizer step."""
    max_length: int = 2048
    """Tokens per row; longer rows are cut."""
    max_steps: int = -1
    """Optimizer steps; > 0 overrides epochs."""
    beta: float = 0.1
    """DPO/GRPO beta: strength of the reference-model KL."""
    sft_weight: float = 1.0
    """DPO: loss = DPO + sft_weight x SFT."""
    save_steps: int = 200
    """Optimizer steps between checkpoints."""
    logging_steps: int = 10
    """Optimizer steps between logged losses (all kept in the run card)."""
    seed: int = 0
    """Seed of the model's new weights, the data order and sampling; the same seed repeats the run."""
    threads: int = 1
    """Torch CPU threads during training (0: torch's count); recorded, as results repeat at one count."""
    gradient_checkpointing: bool = False
    """Activation checkpointing: less memory for large models at ~30% more compute (trl's default is on)."""
    adapter: str = ""
    """DPO after LoRA SFT: the SFT adapter, merged into the base first."""
    extra: dict = field(default_factory=dict)
    """Further trainer arguments (Python only)."""


def _load(args: TrainArgs):
    from qx_env.models import load_causal_lm

    tokenizer, model = load_causal_lm(args.base, args.adapter)
    if args.adapter:
        model = model.merge_and_unload()
    tokenizer.padding_side = "right"
    model.train()
    return tokenizer, model


def _peft_config(args: TrainArgs):
    if not args.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(r=args.lora_rank, lora_alpha=args.lora_alpha, target_modules="all-linear", task_type="CAUSAL_LM")


def _common(args: TrainArgs) -> dict:
    import torch

    gpu = torch.cuda.is_available()
    return {
        "output_dir": str(claim_output_dir(args.out, "training run", is_training_run)),
        "learning_rate": args.learning_rate, "num_train_epochs": args.epochs,
        "per_device_train_batch_size": args.batch_size, "gradient_accumulation_steps": args.gradient_accumulation,
        "max_steps": args.max_steps, "max_length": args.max_length, "save_steps": args.save_steps,
        "save_strategy": "steps", "logging_steps": logging_steps(args.logging_steps, args.max_steps),
        "report_to": [], "bf16": gpu, "use_cpu": not gpu, **trainer_seeds(args.seed),
        "optim": "adamw_torch", "disable_tqdm": False, "activation_checkpointing": args.gradient_checkpointing,
    }


def logging_steps(every: int, max_steps: int) -> int:
    """Steps between logged entries: ``every``, but at least once in a run of ``max_steps`` > 0."""
    if every < 1:
        raise QxError(f"--logging-steps must be at least 1, got {every}")
    return min(every, max_steps) if max_steps > 0 else every


def is_training_run(directory: Path) -> bool:
    """Whether ``directory`` holds a training run (a run card, a final model or a checkpoint)."""
    return (directory / "run_card.json").is_file() or (directory / "final").is_dir() or any(
        directory.glob("checkpoint-*"))


def _checksum_callback():
    """A trainer callback that records the sha256 of a checkpoint's files once it is saved: a
    checkpoint without the record was cut short, one whose files differ from it is damaged."""
    from transformers import TrainerCallback

    class RecordChecksums(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if checkpoint.is_dir():
                write_text_atomic(checkpoint / CHECKSUMS_FILE, json.dumps(tree_checksums(checkpoint, (CHECKSUMS_FILE,))))

    return RecordChecksums()


def resume_checkpoint(out: str | Path) -> Path | None:
    """The newest checkpoint in ``out`` whose files match their recorded checksums. One without a
    record (a crash while saving it) is passed over; a damaged one is refused, saying what to do."""
    numbered = [(int(p.name.rpartition("-")[2]), p) for p in Path(out).glob("checkpoint-*")
                if p.is_dir() and p.name.rpartition("-")[2].isdigit()]
    for _, checkpoint in sorted(numbered, reverse=True):
        record = checkpoint / CHECKSUMS_FILE
        if not record.is_file():
            warnings.warn(f"{checkpoint} was not saved completely (no {CHECKSUMS_FILE}); passed over", stacklevel=2)
            continue
        try:
            problem = checksum_problem(checkpoint, json.loads(record.read_text(encoding="utf-8")), CHECKSUMS_FILE)
        except (json.JSONDecodeError, UnicodeDecodeError):
            problem = f"{CHECKSUMS_FILE} is damaged"
        if problem:
            raise QxError(f"checkpoint {checkpoint} is damaged: {problem}. Delete {checkpoint} and run the same "
                          "command again to resume from the checkpoint before it")
        return checkpoint
    return None


def train_resumably(trainer, out: str | Path):
    """Train from the last complete checkpoint in ``out`` (if any), recording each new checkpoint's
    checksums; returns the train result and the checkpoint resumed from."""
    last = resume_checkpoint(out)
    trainer.add_callback(_checksum_callback())
    return trainer.train(resume_from_checkpoint=str(last) if last else None), last


def save_final(out: str | Path, save: Callable[[str], None]) -> Path:
    """``out/final``, written by ``save(directory)`` into a staging directory renamed into place."""
    final = inside(out, "final")
    with atomic_directory(final) as staging:
        save(str(staging))
    return final


def write_run_card(out: str | Path, trainer, card: dict, context: str = "") -> Path:
    """``out/run_card.json`` (atomically): ``card`` plus every logged entry of the run (the
    trainer's whole log history), and ``out/training.png``, its curves titled with ``context``."""
    from training._plots import plot_training

    card = {**card, "log": list(trainer.state.log_history)}
    path = write_text_atomic(inside(out, "run_card.json"), json.dumps(card, indent=2, default=str))
    kind = str(card.get("kind", "training")).upper()
    plot_training({kind: out}, inside(out, "training.png"),
                  context or f"{kind}: {card.get('args', {}).get('base', '')}, seed {card.get('args', {}).get('seed')}")
    return path


def _run(trainer, args: TrainArgs, kind: str, rows: int, settings: dict, extra: dict | None = None) -> Path:
    if len(trainer.train_dataset) == 0:  # trl drops rows whose completion falls beyond max_length
        raise QxError(f"{args.data}: no row keeps its answer within --max-length {args.max_length}; raise it")
    result, last = train_resumably(trainer, args.out)

    def save(directory: str) -> None:
        trainer.save_model(directory)
        trainer.processing_class.save_pretrained(directory)

    final = save_final(args.out, save)
    write_run_card(args.out, trainer, {"kind": kind, "args": asdict(args), "data_sha256": file_sha256(Path(args.data)),
                                       "rows": rows, "resumed_from": last, "metrics": result.metrics,
                                       "reproducibility": settings, **(extra or {})},
                   f"{kind.upper()} of {Path(args.base).name} on {Path(args.data).name} ({rows} rows), "
                   f"seed {args.seed}, lr {args.learning_rate:g}")
    return final


def train_sft(args: TrainArgs) -> Path:
    """Supervised fine-tuning on prompt/completion rows (loss on the completion only). Rows with tool turns
    (``qx mine toolcalls``: a ``tools`` column and tool answers in the completion) train on the assistant's
    turns only (trl's assistant-only loss), never on the tools' answers; their model's chat template must
    render tool calls."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer
    from trl.chat_template_utils import supports_tool_calling

    rows = read_jsonl(args.data, ("prompt", "completion"))
    with_tools = any(m.get("role") == "tool" for r in rows for m in r["completion"])
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"],
                                  **({"tools": r.get("tools")} if with_tools else {})} for r in rows])
    with reproducible(args.seed, args.threads) as settings:
        tokenizer, model = _load(args)
        if with_tools and not supports_tool_calling(tokenizer):
            raise QxError(f"{args.data} holds tool calls, but the chat template of {args.base} renders no tool calls; "
                          "build the model with `qx model tiny` (qwen2.5 template) or use one whose template supports tools")
        config = SFTConfig(**_common(args), completion_only_loss=True, assistant_only_loss=with_tools)
        trainer = SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                             peft_config=_peft_config(args))
        return _run(trainer, args, "sft", len(rows), settings)


def train_dpo(args: TrainArgs) -> Path:
    """DPO on prompt/chosen/rejected rows, with the paper's DPO + SFT loss."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    rows = read_jsonl(args.data, ("prompt", "chosen", "rejected"))
    same = [i for i, r in enumerate(rows) if r["chosen"] == r["rejected"]]
    if same:
        raise QxError(f"{args.data}: {len(same)} pair(s) whose chosen equals rejected, e.g. row {same[0] + 1}")
    dataset = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])
    with reproducible(args.seed, args.threads) as settings:
        tokenizer, model = _load(args)
        config = DPOConfig(**_common(args), beta=args.beta, loss_type=["sigmoid", "sft"],
                           loss_weights=[1.0, args.sft_weight])
        trainer = DPOTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                             peft_config=_peft_config(args))
        return _run(trainer, args, "dpo", len(rows), settings)
