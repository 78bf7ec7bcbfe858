"""GL601's data: large checkpoints that have a published smaller or distilled sibling for the
same family and task, with the published size/speed/accuracy delta and where it is published.

A plain Python module (not JSON/TOML) so that it ships in the wheel with the `greenlint.rules`
package and needs no package-data entry. Every number below is quoted from the source named in
its row (model cards and papers, listed in rules/GL601.md); a row whose delta could not be
sourced says so instead of giving a number. Keys are lower-case Hub ids; ids that the Hub moved
under an organisation (`google-bert/bert-base-uncased`) are matched too, see `lookup`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Smaller:
    """A smaller checkpoint to try instead, its published delta, and where that is published."""

    instead: str  # the Hub id(s) to try, as shown in the message
    delta: str  # the published delta against the large checkpoint, or "" when none is sourced
    source: str  # short citation for `delta`


_DISTILBERT = "Sanh et al. 2019, DistilBERT, arXiv:1910.01108"
_DISTILBERT_DELTA = "66M vs 110M parameters (40% fewer), 60% faster, 97% of BERT-base's GLUE score"
_BERT_LARGE_DELTA = (
    "340M parameters (Devlin et al. 2019) vs DistilBERT's 66M; DistilBERT keeps 97% of BERT-base's "
    "GLUE score and is 60% faster than BERT-base (it was distilled from BERT-base, not BERT-large)"
)
_SQUAD_DELTA = (
    "66M vs 340M parameters; 87.1 F1 on SQuAD v1.1 dev (the card compares with bert-base-cased: 88.7)"
)
_GPT2_CARD = "distilgpt2 model card; GPT-2 model cards"
_WHISPER_LARGE = Smaller(
    "distil-whisper/distil-large-v3 (English speech only)",
    "756M vs 1550M parameters, 6.3x lower latency; WER 9.7 vs 8.4 short-form, 10.8 vs 11.0 long-form "
    "(against whisper-large-v3)",
    "distil-whisper model card; Gandhi et al. 2023, arXiv:2311.00430",
)
_T5 = "Raffel et al. 2020, T5, JMLR 21(140)"
_BART_CNN = Smaller(
    "sshleifer/distilbart-cnn-12-6",
    "306M vs 406M parameters, 1.24x faster, ROUGE-2 21.26 vs 21.06 on CNN/DailyMail "
    "(distilbart-cnn-6-6: 230M, 2.09x faster, ROUGE-2 20.17)",
    "sshleifer/distilbart-cnn-12-6 model card",
)

CHECKPOINTS: dict[str, Smaller] = {
    # BERT -> DistilBERT
    "bert-base-uncased": Smaller("distilbert-base-uncased", _DISTILBERT_DELTA, _DISTILBERT),
    "bert-base-cased": Smaller("distilbert-base-cased", _DISTILBERT_DELTA, _DISTILBERT),
    "bert-large-uncased": Smaller("distilbert-base-uncased", _BERT_LARGE_DELTA, _DISTILBERT),
    "bert-large-cased": Smaller("distilbert-base-cased", _BERT_LARGE_DELTA, _DISTILBERT),
    "bert-large-uncased-whole-word-masking": Smaller("distilbert-base-uncased", _BERT_LARGE_DELTA, _DISTILBERT),
    "bert-large-cased-whole-word-masking": Smaller("distilbert-base-cased", _BERT_LARGE_DELTA, _DISTILBERT),
    "bert-large-uncased-whole-word-masking-finetuned-squad": Smaller(
        "distilbert-base-cased-distilled-squad", _SQUAD_DELTA, "distilbert-base-cased-distilled-squad model card"
    ),
    "bert-large-cased-whole-word-masking-finetuned-squad": Smaller(
        "distilbert-base-cased-distilled-squad", _SQUAD_DELTA, "distilbert-base-cased-distilled-squad model card"
    ),
    "bert-base-multilingual-cased": Smaller(
        "distilbert-base-multilingual-cased",
        "134M vs 177M parameters, on average twice as fast; English accuracy 78.2 vs 82.1 in the card's table",
        "distilbert-base-multilingual-cased model card",
    ),
    # RoBERTa -> DistilRoBERTa
    "roberta-base": Smaller(
        "distilroberta-base", "82M vs 125M parameters, on average twice as fast", "distilroberta-base model card"
    ),
    "roberta-large": Smaller(
        "distilroberta-base or roberta-base",
        "355M parameters vs distilroberta-base's 82M (roberta-base: 125M; distilroberta-base is on average "
        "twice as fast as roberta-base)",
        "RoBERTa (Liu et al. 2019, fairseq README); distilroberta-base model card",
    ),
    # GPT-2 -> DistilGPT2
    "gpt2-large": Smaller(
        "distilgpt2 or gpt2",
        "774M parameters vs distilgpt2's 82M (gpt2: 124M); distilgpt2 is on average twice as fast as gpt2, "
        "WikiText-103 test perplexity 21.1 vs gpt2's 16.3",
        _GPT2_CARD,
    ),
    "gpt2-xl": Smaller(
        "distilgpt2 or gpt2",
        "1.5B parameters vs distilgpt2's 82M (gpt2: 124M); distilgpt2 is on average twice as fast as gpt2, "
        "WikiText-103 test perplexity 21.1 vs gpt2's 16.3",
        _GPT2_CARD,
    ),
    # Whisper -> Distil-Whisper (English only)
    "openai/whisper-large": _WHISPER_LARGE,
    "openai/whisper-large-v2": _WHISPER_LARGE,
    "openai/whisper-large-v3": _WHISPER_LARGE,
    "openai/whisper-medium.en": Smaller(
        "distil-whisper/distil-medium.en",
        "394M vs 769M parameters",
        "distil-whisper model card; Radford et al. 2022, Whisper, arXiv:2212.04356",
    ),
    # T5: smaller sizes of the same family (no single published accuracy delta is quoted here)
    "t5-large": Smaller("t5-small or t5-base", "770M parameters vs 60M (t5-small) and 220M (t5-base)", _T5),
    "t5-3b": Smaller("t5-small or t5-base", "3B parameters vs 60M (t5-small) and 220M (t5-base)", _T5),
    "t5-11b": Smaller("t5-small or t5-base", "11B parameters vs 60M (t5-small) and 220M (t5-base)", _T5),
    # BART -> DistilBART
    "facebook/bart-large-cnn": _BART_CNN,
    "facebook/bart-large-xsum": Smaller(
        "sshleifer/distilbart-xsum-12-6",
        "306M vs 406M parameters, 1.68x faster, ROUGE-2 22.12 vs 21.85 on XSum",
        "sshleifer/distilbart-xsum-12-6 model card",
    ),
    "facebook/bart-large-mnli": Smaller(
        "valhalla/distilbart-mnli-12-3",
        "MNLI matched accuracy 88.1 vs 89.9 (distilbart-mnli-12-6: 89.19); the card gives no size or speed",
        "valhalla/distilbart-mnli-12-3 model card",
    ),
    # Sentence Transformers
    "sentence-transformers/all-mpnet-base-v2": Smaller(
        "sentence-transformers/all-MiniLM-L6-v2",
        "5 times faster and \"still offers good quality\" (no number given)",
        "Sentence Transformers documentation, Pretrained Models",
    ),
}

# Hub organisations that legacy ids were moved under; `lookup` strips them.
_MOVED_TO = ("google-bert/", "facebookai/", "openai-community/", "google-t5/", "distilbert/")
# Organisations whose ids are also used bare (`SentenceTransformer("all-mpnet-base-v2")`).
_BARE_OK = ("sentence-transformers/",)

# General-purpose generative LLM families (by Hub organisation or id), for GL601's
# "LLM used through a classification pipeline" check.
LLM_ID = re.compile(
    r"^(meta-llama|mistralai|qwen|tiiuae|01-ai|deepseek-ai|huggingfaceh4|lmsys|mosaicml|databricks"
    r"|stabilityai/stablelm|allenai/olmo|bigscience/bloom|eleutherai/(gpt-j|gpt-neox|pythia)"
    r"|google/gemma|microsoft/phi|nousresearch|teknium|openchat|upstage/solar)"
    r"|(^|/)[\w.-]*(llama|mistral|mixtral|qwen|gemma|falcon-\d|vicuna|zephyr)[\w.-]*$",
    re.IGNORECASE,
)
# Pipeline tasks that classify (a discriminative job a fine-tuned encoder does).
CLASSIFICATION_TASKS = frozenset(
    {"text-classification", "sentiment-analysis", "zero-shot-classification", "ner", "token-classification"}
)


def canonical(model_id: str) -> str:
    """The lower-case id with a legacy organisation prefix removed."""
    key = model_id.strip().lower()
    for prefix in _MOVED_TO:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def lookup(model_id: str, extra: dict[str, str] | None = None) -> Smaller | None:
    """The table's row for this Hub id (user mappings first), or None."""
    key = canonical(model_id)
    for user_id, instead in (extra or {}).items():
        if canonical(user_id) == key:
            return Smaller(instead, "", "")
    found = CHECKPOINTS.get(key)
    if found is None:
        found = next((CHECKPOINTS.get(prefix + key) for prefix in _BARE_OK if prefix + key in CHECKPOINTS), None)
    return found


def is_llm(model_id: str) -> bool:
    return bool(LLM_ID.search(model_id.strip()))


def alternatives(row: Smaller) -> list[str]:
    """The Hub ids a row suggests, canonical (`"distilgpt2 or gpt2"` -> both; notes in
    parentheses dropped)."""
    text = row.instead.split("(", 1)[0]
    return [canonical(part) for part in re.split(r"\s+or\s+", text) if part.strip()]
