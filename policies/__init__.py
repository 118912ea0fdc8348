"""Policies: read report texts and return search queries (baselines and LLM policies)."""
