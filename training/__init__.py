"""Training: mining search feedback, SFT and preference data, and training policies (trl + peft)."""

from training._classifier import ClassifierArgs, train_classifier
from training._datasets import pair_rows, qualified, read_jsonl, sft_rows, write_jsonl
from training._feedback import FEEDBACK_SCHEMA, mine_feedback, read_feedback
from training._grpo import EnvironmentRewards, GRPOArgs, train_grpo
from training._loop import LoopArgs, evaluate_model, train_loop
from training._ray import mine_feedback_ray, start_ray
from training._train import TrainArgs, train_dpo, train_sft
from training._trl_environment import SearchEnvironment, tool_rows

__all__ = [
    "FEEDBACK_SCHEMA", "ClassifierArgs", "EnvironmentRewards", "GRPOArgs", "LoopArgs", "SearchEnvironment", "TrainArgs", "evaluate_model", "mine_feedback", "mine_feedback_ray", "pair_rows", "qualified", "read_feedback", "read_jsonl",
    "sft_rows", "start_ray", "tool_rows", "train_classifier", "train_dpo", "train_grpo", "train_loop", "train_sft", "write_jsonl",
]
