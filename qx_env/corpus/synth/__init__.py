"""The embedded default corpus: a synthetic second-hand marketplace with toxic campaigns."""

from qx_env.corpus.synth._camouflage import OPERATORS, camouflage
from qx_env.corpus.synth._everyday import everyday_words
from qx_env.corpus.synth._everyday_rates import words_of
from qx_env.corpus.synth._generator import SynthConfig, synthesize
from qx_env.corpus.synth._noise_rates import real_corpora
from qx_env.corpus.synth._vocabulary import LANGUAGES, Vocabulary, load_vocabulary

__all__ = ["LANGUAGES", "OPERATORS", "SynthConfig", "Vocabulary", "camouflage", "everyday_words", "load_vocabulary",
           "real_corpora", "synthesize", "words_of"]
