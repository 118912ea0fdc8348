"""SFT and DPO with trl (+ peft LoRA), with the paper's defaults: LoRA on all linear modules, AdamW,
lr 3e-5, SFT 2 epochs, DPO 5 epochs, beta 0.1, loss = DPO + 1.0 x SFT, max length 2048.

Read top to bottom: arguments (a dataclass), data, model, trainer, run card. Checkpoints go to
``out/checkpoint-*``, each with the sha256 of its files once saved; an interrupted run resumes from
the last complete one (a damaged one is refused); the result is ``out/final`` (a LoRA adapter to
load on the base model, or the full model without LoRA) and ``out/run_card.json``, both written
atomically, never outside ``out``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qx_env.errors import QxError
from qx_env.files import (
    checksum_problem,
    claim_output_dir,
    file_sha256,
    inside,
    replace_directory,
    tree_checksums,
    write_text_atomic,
)
from training._datasets import read_jsonl

CHECKSUMS_FILE = "qx_checksums.json"  # in each checkpoint: sha256 of its files, written once it is saved


@dataclass
class TrainArgs:
    base: str  # local model directory (e.g. from `qx model tiny`)
    out: str
    data: str = ""  # JSONL from `qx mine sft` or `qx mine pairs`
    lora: bool = True
    lora_rank: int = 16
    lora_alpha: int = 32
    learning_rate: float = 3e-5
    epochs: float = 2.0
    batch_size: int = 4
    gradient_accumulation: int = 1
    max_length: int = 2048
    max_steps: int = -1  # > 0 overrides epochs
    beta: float = 0.1  # DPO
    sft_weight: float = 1.0  # DPO: loss = DPO + sft_weight x SFT
    save_steps: int = 200
    seed: int = 0
    gradient_checkpointing: bool = False  # saves memory for large models at ~30% more compute (trl's default is on)
    adapter: str = ""  # DPO after LoRA SFT: the SFT adapter, merged into the base first
    extra: dict = field(default_factory=dict)


def _load(args: TrainArgs):
    from policies import load_causal_lm

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
        "max_steps": args.max_steps, "max_length": args.max_length, "seed": args.seed, "save_steps": args.save_steps,
        "save_strategy": "steps", "logging_steps": min(10, args.max_steps) if args.max_steps > 0 else 10,
        "report_to": [], "bf16": gpu, "use_cpu": not gpu,
        "optim": "adamw_torch", "disable_tqdm": False, "gradient_checkpointing": args.gradient_checkpointing,
    }


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
    staging = final.with_name(f".final.{os.getpid()}.tmp")
    save(str(staging))
    replace_directory(staging, final)
    return final


def write_run_card(out: str | Path, trainer, card: dict) -> None:
    """``out/run_card.json`` (atomically): ``card`` plus the last 20 logged losses."""
    card = {**card, "log": [entry for entry in trainer.state.log_history if "loss" in entry][-20:]}
    write_text_atomic(inside(out, "run_card.json"), json.dumps(card, indent=2, default=str))


def _run(trainer, args: TrainArgs, kind: str, rows: int, extra: dict | None = None) -> Path:
    if len(trainer.train_dataset) == 0:  # trl drops rows whose completion falls beyond max_length
        raise QxError(f"{args.data}: no row keeps its answer within --max-length {args.max_length}; raise it")
    result, last = train_resumably(trainer, args.out)

    def save(directory: str) -> None:
        trainer.save_model(directory)
        trainer.processing_class.save_pretrained(directory)

    final = save_final(args.out, save)
    write_run_card(args.out, trainer, {"kind": kind, "args": asdict(args), "data_sha256": file_sha256(Path(args.data)),
                                       "rows": rows, "resumed_from": last, "metrics": result.metrics, **(extra or {})})
    return final


def train_sft(args: TrainArgs) -> Path:
    """Supervised fine-tuning on prompt/completion rows (loss on the completion only)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    rows = read_jsonl(args.data, ("prompt", "completion"))
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    tokenizer, model = _load(args)
    config = SFTConfig(**_common(args), completion_only_loss=True)
    trainer = SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=_peft_config(args))
    return _run(trainer, args, "sft", len(rows))


def train_dpo(args: TrainArgs) -> Path:
    """DPO on prompt/chosen/rejected rows, with the paper's DPO + SFT loss."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    rows = read_jsonl(args.data, ("prompt", "chosen", "rejected"))
    same = [i for i, r in enumerate(rows) if r["chosen"] == r["rejected"]]
    if same:
        raise QxError(f"{args.data}: {len(same)} pair(s) whose chosen equals rejected, e.g. row {same[0] + 1}")
    dataset = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])
    tokenizer, model = _load(args)
    config = DPOConfig(**_common(args), beta=args.beta, loss_type=["sigmoid", "sft"],
                       loss_weights=[1.0, args.sft_weight])
    trainer = DPOTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=_peft_config(args))
    return _run(trainer, args, "dpo", len(rows))
