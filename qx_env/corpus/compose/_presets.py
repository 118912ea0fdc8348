"""Snapshot presets built from the real corpora in ``shared/data`` (see its README)."""

from __future__ import annotations

from dataclasses import dataclass

from qx_env.corpus.compose._sources import FILE_COLUMN, Source

HARM_VIOLATIONS = ("博彩", "低俗色情", "欺诈", "谩骂引战", "黑产广告")
FBS_TOXIC = (
    "IL__Escort_service", "IL__Fake_ID_and_invoice", "IL__Gambling", "IL__Political_propaganda",
    "FR__Financial", "FR__Other", "FR__Phishing_Bank", "FR__Phishing_Other",
)
FBS_BENIGN = ("AD__Loan", "AD__Network_service", "AD__Other", "AD__Real_estate", "AD__Retail", "Other")


#: Default toxic share of a preset snapshot: 0.3% of items. Published prevalence of violating
#: content: eBay removed about 3.2M counterfeit or prohibited listings proactively in 2023 against
#: about 1.8B live listings (transparency report), about 0.2%, a lower bound (reactive removals and
#: undetected items come on top); YouTube 0.16-0.18% of views violative (Q4 2020); Meta about
#: 0.04-0.05% of views for adult nudity alone (2022). 0.3% sits above eBay's lower bound inside the
#: product brief's 0.2-0.5% band; a query exposing 100 random items is then "effective" with
#: probability 1 - 0.997**100 = 0.26 (the chance line), against about 1.0 at the sources' own
#: 11-38%.
DEFAULT_TOXIC_SHARE = 0.003
#: Default background of a preset: its real benign texts plus synthetic marketplace normals.
#: At 0.3% the real benign texts alone hold few toxic items (harm-zh: about 210 of 8,504 in a
#: 70k background, about 8 test reports), so the synthetic part is sized ("auto") to fit every
#: toxic item at the share, at most AUTO_SYNTH_MAX items (see _compose).
DEFAULT_BACKGROUND = "both"


@dataclass(frozen=True)
class Preset:
    """A named recipe: language, sources, whether normal texts are trimmed to the toxic texts'
    length range (so that length alone does not separate the classes), and the default toxic
    share and background the toxic sources are planted into."""

    name: str
    language: str
    description: str
    sources: tuple[Source, ...]
    match_lengths: bool = False
    toxic_share: float = DEFAULT_TOXIC_SHARE
    background: str = DEFAULT_BACKGROUND


def _fbs(stem: str) -> Source:
    return Source(path=f"fbs_sms/{stem}.txt", text_col="text", name=f"fbs_sms/{stem}", label_col=FILE_COLUMN,
                  toxic_values=FBS_TOXIC, category_col=FILE_COLUMN, join_cjk=True)


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="harm-zh",
            language="zh",
            description="ChineseHarm-Bench violations (toxic, clustered by category) among "
            "online_shopping_10_cats reviews and COLD safe texts (normal)",
            sources=(
                *(Source(path=f"chineseharm_bench/{label}.json", text_col="文本", name=f"chineseharm_bench/{label}",
                         label=1, category_col="标签") for label in HARM_VIOLATIONS),
                Source(path="online_shopping_10_cats/online_shopping_10_cats.csv", text_col="review",
                       name="online_shopping_10_cats", label=0, category_col="cat"),
                *(Source(path=f"cold/{split}.csv", text_col="TEXT", name=f"cold/{split}", label=0,
                         category="cold", keep=(("label", ("0",)),)) for split in ("train", "dev", "test")),
            ),
            match_lengths=True,
        ),
        Preset(
            name="fbs-zh",
            language="zh",
            description="FBS fake-base-station SMS: IL and FR categories toxic, AD and Other normal",
            sources=tuple(_fbs(stem) for stem in (*FBS_TOXIC, *FBS_BENIGN)),
        ),
        Preset(
            name="sms-en",
            language="en",
            description="UCI SMS Spam Collection: spam toxic, ham normal",
            sources=(
                Source(path="sms_spam_collection_uci/SMSSpamCollection", format="tsv", text_col="SMS",
                       name="sms_spam_collection_uci", label_col="Label", toxic_values=("spam",),
                       category_col="Label"),
            ),
        ),
    )
}
