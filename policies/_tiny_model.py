"""A tiny local causal LM (no downloads): a small Qwen2-architecture model and a byte-level BPE
tokenizer trained on the snapshot's texts and the prompt templates, saved in Hugging Face format,
so the LLM policy, SFT, DPO and GRPO (with the search tool too) run end to end on a CPU.

Its chat template is Qwen2.5's as trl ships it (``trl.chat_template_utils.qwen2_5_chat_template``), so
trl recognises it: it renders tools and ``<tool_call>`` turns, trl parses the model's tool calls
(``add_response_schema``), and SFT on tool conversations masks the tool answers out of the loss (trl's
training variant of the same template). The paper's prompts (a system message first) render exactly
as with the plain ChatML template of earlier versions, still available as ``chat_template="chatml"``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from policies._prompts import INPUT_PREFIXES, INSTRUCTIONS
from qx_env.errors import QxError
from qx_env.parsers import ANSWER_PREFIXES
from qx_env.snapshot import Snapshot

#: The plain ChatML template of earlier versions (``chat_template="chatml"``): no tools.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
#: The tool-call tags of the qwen2.5 template, one token each (``tool_tokens``), as in Qwen2.5's own tokenizer.
TOOL_TOKENS = ("<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>")
#: The chat templates a tiny model can be built with; the first is the default.
CHAT_TEMPLATES = ("qwen2.5", "chatml")


def chat_template_text(name: str) -> str:
    """The text of the chat template ``name`` (:data:`CHAT_TEMPLATES`): ``qwen2.5`` is trl's own copy of
    Qwen2.5's, which renders tools and tool calls; ``chatml`` the plain ChatML template."""
    if name == "chatml":
        return CHAT_TEMPLATE
    if name != "qwen2.5":
        raise QxError(f"unknown chat template {name!r}; choose from {', '.join(CHAT_TEMPLATES)}")
    try:
        from trl.chat_template_utils import qwen2_5_chat_template
    except ImportError as exc:
        raise QxError(f"the qwen2.5 chat template comes from trl >= 1.0 ({exc}); upgrade trl or build with "
                      "--chat-template chatml (no tools)") from None
    return qwen2_5_chat_template


@dataclass(frozen=True)
class TinyModelConfig:
    """Size of the tiny Qwen2-architecture model and its tokenizer."""

    vocab_size: int = 8000
    """Tokenizer size in tokens (BPE trained on the snapshot's texts)."""
    hidden_size: int = 128
    """Width of the hidden states."""
    layers: int = 4
    """Transformer layers."""
    heads: int = 4
    """Attention heads."""
    kv_heads: int = 2
    """Key/value heads (grouped-query attention)."""
    intermediate_size: int = 384
    """Width of the MLP's hidden layer."""
    max_positions: int = 2048
    """Longest sequence in tokens."""
    seed: int = 0
    """Seed of the initial weights."""
    tool_tokens: bool = False
    """Add the tool-call tags as tokens of their own, as Qwen2.5's tokenizer has them, so a tool call is shorter to
    learn (on in qx model tiny; off by default in Python, where the tokenizer stays that of earlier versions)."""
    chat_template: str = CHAT_TEMPLATES[0]
    """Chat template: qwen2.5 (renders the search tool and tool calls, as trl's GRPO tool loop needs) or chatml
    (the plain template of earlier versions, no tools)."""


def _training_texts(texts: Iterable[str]):
    for language in ("zh", "en"):
        yield INSTRUCTIONS[language]
        yield INPUT_PREFIXES[language]
        yield ANSWER_PREFIXES[language]
    yield from texts


def build_tokenizer(texts: Iterable[str], vocab_size: int, template: str = CHAT_TEMPLATES[0],
                    added_tokens: Sequence[str] = ()):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(_training_texts(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   bos_token=None, unk_token=None)
    fast.add_tokens([AddedToken(token, special=False, normalized=False) for token in added_tokens])
    fast.chat_template = chat_template_text(template)
    return fast


def build_tiny_model(source: Snapshot | Sequence[str], out: str | Path, config: TinyModelConfig = TinyModelConfig(),
                     extra_texts: Sequence[str] = ()) -> Path:
    """Train the tokenizer on ``source``'s texts (a snapshot or a list of texts) plus the prompt
    templates and ``extra_texts``, initialise the model with ``config.seed``, save both to ``out``."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "config.json").is_file():
        raise QxError(f"{out} exists, is not empty and is not a model directory; choose another --out")
    chat_template_text(config.chat_template)  # an unknown name is refused before the tokenizer is trained
    texts = source.texts if isinstance(source, Snapshot) else source
    tokenizer = build_tokenizer([*extra_texts, *texts], config.vocab_size, config.chat_template,
                                TOOL_TOKENS if config.tool_tokens else ())
    model_config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=config.hidden_size, intermediate_size=config.intermediate_size,
        num_hidden_layers=config.layers, num_attention_heads=config.heads, num_key_value_heads=config.kv_heads,
        max_position_embeddings=config.max_positions, tie_word_embeddings=True,
        bos_token_id=None, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(config.seed)
    model = Qwen2ForCausalLM(model_config)
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id, do_sample=False)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "qx_tiny_model.json").write_text(json.dumps(
        {**asdict(config), "parameters": sum(p.numel() for p in model.parameters()), "extra_texts": len(extra_texts),
         "snapshot_fingerprint": source.fingerprint if isinstance(source, Snapshot) and source.path else None}, indent=2))
    return out
