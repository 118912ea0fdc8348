"""Training: mining search feedback, SFT and preference data, and training policies (trl + peft).

The iterative loop's parts are public for the benchmarks that run them one at a time: ``BASELINES``
(the policies whose feedback the SFT data is mined from), ``dpo_round`` (mine a model's candidates,
pair, train DPO), ``evaluate_model`` and ``model_policy_spec`` (the ``llm`` spec of a trained model);
``plot_training`` draws the run cards' curves."""

from qx_env.adapters import SearchEnvironment, tool_rows, tool_texts
from training._classifier import ClassifierArgs, train_classifier
from training._datasets import pair_rows, qualified, read_jsonl, sft_rows, tool_call_rows, write_jsonl
from training._feedback import FEEDBACK_SCHEMA, mine_feedback, read_feedback
from training._grpo import EnvironmentRewards, GRPOArgs, train_grpo
from training._loop import BASELINES, LoopArgs, dpo_round, evaluate_model, model_policy_spec, train_loop
from training._plots import plot_training
from training._ray import mine_feedback_ray, start_ray
from training._retrain_dpo import DPORetrainer
from training._train import TrainArgs, train_dpo, train_sft

__all__ = [
    "BASELINES", "FEEDBACK_SCHEMA", "ClassifierArgs", "DPORetrainer", "EnvironmentRewards", "GRPOArgs", "LoopArgs", "SearchEnvironment",
    "TrainArgs", "dpo_round", "evaluate_model", "mine_feedback", "mine_feedback_ray", "model_policy_spec", "pair_rows",
    "plot_training", "qualified", "read_feedback", "read_jsonl", "sft_rows", "start_ray", "tool_call_rows", "tool_rows", "tool_texts",
    "train_classifier", "train_dpo", "train_grpo", "train_loop", "train_sft", "write_jsonl",
]
