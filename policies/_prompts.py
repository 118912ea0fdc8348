"""The paper's prompt (Table 2 and the appendix's Table 8): a system instruction, the report after
an input prefix, and the answer prefix the model's output starts with."""

from __future__ import annotations

INSTRUCTIONS = {
    "zh": "你是一个内容安全专家，需要从违规商品信息中提取出有助排查相似风险的关键词，关注和违规相关的独特信息。",
    "en": "You are a content safety expert and need to extract key words from the improper item's information "
          "to help detect more similar risks, focusing on the unique information related to the violations.",
}
INPUT_PREFIXES = {"zh": "违规信息如下：", "en": "The improper information is as follows: "}


def messages(text: str, language: str) -> list[dict[str, str]]:
    """The conversation a policy model answers: system instruction, then the report."""
    return [{"role": "system", "content": INSTRUCTIONS[language]},
            {"role": "user", "content": INPUT_PREFIXES[language] + text}]
