"""Fine-tune a small language model as a risk classifier (the ``lm`` ranker), after the
small-models study: a sequence-classification head on a local causal LM (or the tiny local model),
LoRA on all linear modules (peft) or full fine-tuning, trained on labeled texts that never include
the evaluation reports' clusters.

Read top to bottom: arguments, data, base model, trainer, merged model and run card. Checkpoints go
to ``out/checkpoint-*`` and an interrupted run resumes from the last; the result is ``out/final``,
a plain ``*ForSequenceClassification`` model that ``lm:path=out/final`` loads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qx_env.errors import QxError
from qx_env.files import claim_output_dir, inside
from qx_env.rankers import JUDGE_PROMPTS, LabeledTexts, labeled_sets
from training._reproducible import reproducible, trainer_seeds
from training._train import is_training_run, logging_steps, save_final, train_resumably, write_run_card

#: Below this many parameters a model is trained fully: LoRA on a randomly initialised tiny model
#: cannot move it far enough.
FULL_FINETUNE_BELOW = 20_000_000


@dataclass
class ClassifierArgs:
    data: str
    """A snapshot directory, or a labeled preset: cold."""
    out: str
    """Run directory: checkpoints, final model, run_card.json, training.png."""
    base: str = "tiny"
    """A local causal-LM directory, or "tiny" to build one from the training texts."""
    tiny_vocab_size: int = 8000
    """The tiny model's tokenizer size in tokens (keep it well below the training texts' variety)."""
    finetune: str = "auto"
    """lora | full | auto (full below 20M parameters)."""
    lora_rank: int = 16
    """LoRA rank r."""
    lora_alpha: int = 32
    """LoRA scaling alpha."""
    learning_rate: float = 0.0
    """AdamW learning rate; 0: the study's 1e-5 for a model from a path, 1e-3 for a tiny model."""
    epochs: float = 1.0
    """Passes over the training texts."""
    batch_size: int = 8
    """Texts per optimizer step (the study's 8)."""
    max_length: int = 128
    """Tokens per text; longer texts are cut."""
    max_steps: int = -1
    """Optimizer steps; > 0 overrides epochs."""
    max_train: int = 0
    """Cap on training texts, a seeded sample (0: all)."""
    balance: bool = True
    """Class-weighted loss (toxic items are rare in snapshots)."""
    save_steps: int = 500
    """Optimizer steps between checkpoints."""
    logging_steps: int = 20
    """Optimizer steps between logged losses (all kept in the run card)."""
    seed: int = 0
    """Seed of the sample, the new head and adapter, and the data order; the same seed repeats the run."""
    threads: int = 1
    """Torch CPU threads during training (0: torch's count); recorded, as results repeat at one count."""
    data_dir: str = "../shared/data"
    """Folder of the labeled presets."""
    holdout: float = 0.1
    """Snapshots: share of non-evaluation items held out for evaluation."""


def _base_model(args: ClassifierArgs, train: LabeledTexts) -> tuple[Path, bool]:
    """The base model directory and whether it was built from scratch here."""
    if args.base != "tiny":
        return Path(args.base).expanduser(), False
    from policies import TinyModelConfig, build_tiny_model

    path = inside(args.out, "tiny-base")
    if not (path / "config.json").is_file():
        build_tiny_model(train.texts, path, TinyModelConfig(vocab_size=args.tiny_vocab_size, seed=args.seed),
                         extra_texts=list(JUDGE_PROMPTS.values()))
    return path, True


def _load(path: Path, args: ClassifierArgs, from_scratch: bool):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from qx_env.models import load_causal_lm

    load_causal_lm(path)  # checks that the base is a causal LM, with a clear error otherwise
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=2, local_files_only=True, id2label={0: "normal", 1: "toxic"},
        label2id={"normal": 0, "toxic": 1})
    model.config.pad_token_id = tokenizer.pad_token_id
    parameters = sum(p.numel() for p in model.parameters())
    lora = args.finetune == "lora" or (args.finetune == "auto" and parameters >= FULL_FINETUNE_BELOW)
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=args.lora_rank, lora_alpha=args.lora_alpha,
                                                 target_modules="all-linear", task_type="SEQ_CLS"))
    learning_rate = args.learning_rate or (1e-3 if from_scratch else 1e-5)
    return tokenizer, model, {"parameters": parameters, "lora": lora, "learning_rate": learning_rate}


def _dataset(data: LabeledTexts, tokenizer, max_length: int):
    from datasets import Dataset

    encoded = tokenizer(data.texts, truncation=True, max_length=max_length)
    return Dataset.from_dict({**encoded, "labels": data.labels.astype(np.int64).tolist()})


def _class_weighted_loss(labels: np.ndarray):
    import torch

    counts = np.bincount(labels, minlength=2).astype(np.float64)
    weights = torch.tensor(len(labels) / (2 * np.maximum(counts, 1)), dtype=torch.float32)

    def loss(outputs, targets, num_items_in_batch=None):
        return torch.nn.functional.cross_entropy(outputs.logits.float(), targets, weight=weights.to(targets.device))

    return loss


def train_classifier(args: ClassifierArgs) -> Path:
    """Train, save ``out/final`` (LoRA merged in) and ``out/run_card.json``; returns ``out/final``."""
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    if args.finetune not in ("lora", "full", "auto"):
        raise QxError(f"finetune must be lora, full or auto, got {args.finetune!r}")
    # a run killed before its first checkpoint holds only the tiny base model: resumable too
    out = claim_output_dir(args.out, "training run", lambda d: is_training_run(d) or (d / "tiny-base").is_dir())
    train, _ = labeled_sets(args.data, args.data_dir, args.holdout, args.seed)
    train = train.sample(args.max_train, args.seed)
    train.require_both_classes()
    base, from_scratch = _base_model(args, train)
    with reproducible(args.seed, args.threads) as settings:  # before loading: the new head is seeded
        tokenizer, model, setup = _load(base, args, from_scratch)
        gpu = torch.cuda.is_available()
        config = TrainingArguments(
            output_dir=str(out), learning_rate=setup["learning_rate"], num_train_epochs=args.epochs,
            per_device_train_batch_size=args.batch_size, max_steps=args.max_steps, save_strategy="steps",
            save_steps=args.save_steps, logging_steps=logging_steps(args.logging_steps, args.max_steps),
            report_to=[], bf16=gpu, use_cpu=not gpu, optim="adamw_torch", disable_tqdm=False,
            lr_scheduler_type="linear", warmup_steps=0.05, **trainer_seeds(args.seed),
        )
        trainer = Trainer(model=model, args=config, train_dataset=_dataset(train, tokenizer, args.max_length),
                          data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer,
                          compute_loss_func=_class_weighted_loss(train.labels) if args.balance else None)
        result, last = train_resumably(trainer, out)
        trained = trainer.model.merge_and_unload() if setup["lora"] else trainer.model

        def save(directory: str) -> None:
            trained.save_pretrained(directory)
            tokenizer.save_pretrained(directory)

        final = save_final(out, save)
        write_run_card(out, trainer, {"kind": "classifier", "args": asdict(args), "base": str(base),
                                      "train": train.name, "rows": len(train),
                                      "toxic_share": float(train.labels.mean()), **setup, "resumed_from": last,
                                      "metrics": result.metrics, "reproducibility": settings},
                       f"classifier of {Path(base).name} on {train.name} ({len(train)} texts), seed {args.seed}")
    return final
