"""Local Hugging Face models: a tokenizer and model from a directory the user gives (never a download,
no ``trust_remote_code`` unless asked), with clear errors for a wrong path; and the third-party
deprecation warnings silenced while they load and train. Used by the LLM policy, the LM rankers and
training, so it sits below all three."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qx_env.errors import QxError

CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel")
#: (message regex, category) of deprecation warnings that transformers, trl and peft raise from their
#: own code (no argument of ours avoids them): peft and trl read the deprecated model property.
KNOWN_WARNINGS = (
    (r"`is_gradient_checkpointing` is deprecated", FutureWarning),
)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Torch's intra-op threads set to ``count`` (0: left alone) for the block, then restored."""
    import torch

    previous = torch.get_num_threads()
    if count > 0:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def known_warnings_filtered() -> Iterator[None]:
    """The block with exactly the :data:`KNOWN_WARNINGS` silenced (other warnings still show)."""
    with warnings.catch_warnings():
        for message, category in KNOWN_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


def load_local_model(path: str | Path, model_class, suffixes: tuple[str, ...], what: str, hint: str = "",
                     trust_remote_code: bool = False):
    """Tokenizer and ``model_class`` model from a local directory (no download), whose config names a
    ``what`` (an architecture ending in one of ``suffixes``); clear errors for a wrong path."""
    from transformers import AutoTokenizer

    root = Path(path).expanduser()
    if not (root / "config.json").is_file():
        raise QxError(f"model path {root} is not a Hugging Face model directory (no config.json)")
    architectures = json.loads((root / "config.json").read_text()).get("architectures") or []
    if architectures and not any(a.endswith(suffixes) for a in architectures):
        raise QxError(f"model at {root} is a {', '.join(architectures)}, not a {what}{hint}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(root, local_files_only=True, trust_remote_code=trust_remote_code)
        model = model_class.from_pretrained(root, local_files_only=True, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, KeyError) as exc:
        raise QxError(f"cannot load a {what} from {root}: {exc}") from None
    return tokenizer, model


def load_causal_lm(path: str | Path, adapter: str = "", trust_remote_code: bool = False):
    """Tokenizer and causal LM from a local directory (no download), a LoRA adapter on top if given."""
    from transformers import AutoModelForCausalLM

    tokenizer, model = load_local_model(path, AutoModelForCausalLM, CAUSAL_SUFFIXES, "causal language model",
                                        trust_remote_code=trust_remote_code)
    if adapter:
        from peft import PeftModel

        if not (Path(adapter) / "adapter_config.json").is_file():
            raise QxError(f"adapter path {adapter} holds no adapter_config.json (a LoRA adapter from training)")
        with known_warnings_filtered():
            model = PeftModel.from_pretrained(model, adapter)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer, model.eval()
