"""Unit tests for the offline extractive analysis (no database, no Django)."""

from __future__ import annotations

import pytest

from processing.analysis import (
    Item,
    Segment,
    definition_issue,
    definition_solution,
    summarize_text,
)


def _seg(start: float, end: float, text: str) -> Segment:
    return {"start": start, "end": end, "text": text}


EN_SEGMENTS: list[Segment] = [
    _seg(0.0, 4.0, "Good morning everyone, thanks for joining the weekly sync."),
    _seg(4.0, 9.5, "The mobile release is delayed because the payment"),
    _seg(9.5, 13.0, "integration keeps failing on older devices."),
    _seg(13.0, 18.0, "Customers also complain that checkout is too slow. We should"),
    _seg(18.0, 22.5, "move the payment integration to the new provider."),
    _seg(22.5, 27.0, "The office kitchen was repainted in blue last week."),
    _seg(27.0, 31.0, "Next step: Maria will profile the checkout flow."),
    _seg(31.0, 35.0, "Our budget review happens on Friday."),
    _seg(35.0, 40.0, "I recommend we hire a contractor for the payment integration."),
]
EN_JOINED = " ".join(seg["text"] for seg in EN_SEGMENTS)

EN_DELAY = "The mobile release is delayed because the payment integration keeps failing on older devices."
EN_COMPLAIN = "Customers also complain that checkout is too slow."
EN_SHOULD = "We should move the payment integration to the new provider."
EN_NEXT_STEP = "Next step: Maria will profile the checkout flow."
EN_RECOMMEND = "I recommend we hire a contractor for the payment integration."
EN_NEUTRAL = (
    "The office kitchen was repainted in blue last week.",
    "Our budget review happens on Friday.",
)

JA_SEGMENTS: list[Segment] = [
    _seg(0.0, 3.0, "皆さん、おはようございます。"),
    _seg(3.0, 7.5, "新機能のリリースが二週間遅れて"),
    _seg(7.5, 11.0, "います。"),
    _seg(11.0, 15.0, "サーバーの容量が不足しているという問題もあります。"),
    _seg(15.0, 19.0, "会議室は三階にあります。"),
    _seg(19.0, 24.0, "来月までに新しいサーバーを導入する予定です。"),
    _seg(24.0, 29.0, "テスト体制を改善するべきだと"),
    _seg(29.0, 32.0, "提案します。"),
]
JA_JOINED = "".join(seg["text"] for seg in JA_SEGMENTS)

JA_DELAY = "新機能のリリースが二週間遅れています。"
JA_SHORTAGE = "サーバーの容量が不足しているという問題もあります。"
JA_INTRODUCE = "来月までに新しいサーバーを導入する予定です。"
JA_PROPOSE = "テスト体制を改善するべきだと提案します。"
JA_NEUTRAL = "会議室は三階にあります。"


def _texts(items: list[Item]) -> list[str]:
    return [item["text"] for item in items]


def _by_text(items: list[Item], text: str) -> Item:
    return next(item for item in items if item["text"] == text)


# --- English -----------------------------------------------------------------------------------------------


def test_english_summary_sentences_come_from_transcript_in_order() -> None:
    # Given an English meeting transcript
    # When it is summarised
    summary = summarize_text(EN_SEGMENTS, language="en", max_sentences=3)

    # Then every picked sentence is verbatim transcript text, returned in transcript order
    assert len(summary) == 3
    assert all(item["text"] in EN_JOINED for item in summary)
    starts = [item["start"] for item in summary]
    assert starts == sorted(starts)


def test_english_summary_prefers_the_recurring_topic() -> None:
    # Given a transcript whose dominant topic is the payment integration
    # When it is summarised to one sentence
    summary = summarize_text(EN_SEGMENTS, language="en", max_sentences=1)

    # Then the chosen sentence is about that topic, not small talk
    assert len(summary) == 1
    assert "payment integration" in summary[0]["text"]


def test_english_issues_include_problems_and_exclude_neutral() -> None:
    # Given an English meeting transcript
    # When issues are extracted
    issues = definition_issue(EN_SEGMENTS, language="en")

    # Then the problem sentences are found, neutral ones are not
    texts = _texts(issues)
    assert EN_DELAY in texts
    assert EN_COMPLAIN in texts
    for neutral in EN_NEUTRAL:
        assert neutral not in texts


def test_english_solutions_include_proposals_and_exclude_neutral() -> None:
    # Given an English meeting transcript
    # When solutions are extracted
    solutions = definition_solution(EN_SEGMENTS, language="en")

    # Then the proposal sentences are found, neutral ones are not
    texts = _texts(solutions)
    assert EN_SHOULD in texts
    assert EN_NEXT_STEP in texts
    assert EN_RECOMMEND in texts
    for neutral in EN_NEUTRAL:
        assert neutral not in texts


def test_english_items_carry_the_times_of_their_segments() -> None:
    # Given sentences that span two segments and one that shares a segment with another sentence
    # When issues and solutions are extracted
    issues = definition_issue(EN_SEGMENTS, language="en")
    solutions = definition_solution(EN_SEGMENTS, language="en")

    # Then each item spans from its first segment's start to its last segment's end
    delay = _by_text(issues, EN_DELAY)
    assert (delay["start"], delay["end"]) == (4.0, 13.0)
    complain = _by_text(issues, EN_COMPLAIN)
    assert (complain["start"], complain["end"]) == (13.0, 18.0)
    should = _by_text(solutions, EN_SHOULD)
    assert (should["start"], should["end"]) == (13.0, 22.5)
    recommend = _by_text(solutions, EN_RECOMMEND)
    assert (recommend["start"], recommend["end"]) == (35.0, 40.0)


def test_english_cues_match_whole_words_only() -> None:
    # Given words that merely contain a cue ("tissues", "lately") and a real inflected cue ("delays")
    segments = [
        _seg(0.0, 2.0, "We ordered tissues for the office lately."),
        _seg(2.0, 4.0, "Shipping delays hurt us."),
        _seg(4.0, 6.0, "The price is 3.5 dollars per unit."),
    ]

    # When issues are extracted
    texts = _texts(definition_issue(segments))

    # Then only the whole-word match counts, and a decimal point does not split a sentence
    assert texts == ["Shipping delays hurt us."]
    assert "The price is 3.5 dollars per unit." in _texts(summarize_text(segments))


# --- Japanese ----------------------------------------------------------------------------------------------


def test_japanese_summary_sentences_come_from_transcript() -> None:
    # Given a Japanese meeting transcript
    # When it is summarised
    summary = summarize_text(JA_SEGMENTS, language="ja", max_sentences=3)

    # Then every picked sentence is verbatim transcript text, returned in transcript order
    assert len(summary) == 3
    assert all(item["text"] in JA_JOINED for item in summary)
    starts = [item["start"] for item in summary]
    assert starts == sorted(starts)


def test_japanese_issues_include_problems_and_exclude_neutral() -> None:
    # Given a Japanese meeting transcript
    # When issues are extracted
    texts = _texts(definition_issue(JA_SEGMENTS, language="ja"))

    # Then the problem sentences are found, the neutral one is not
    assert JA_DELAY in texts
    assert JA_SHORTAGE in texts
    assert JA_NEUTRAL not in texts


def test_japanese_solutions_include_proposals_and_exclude_neutral() -> None:
    # Given a Japanese meeting transcript
    # When solutions are extracted
    texts = _texts(definition_solution(JA_SEGMENTS, language="ja"))

    # Then the proposal sentences are found, the neutral one is not
    assert JA_INTRODUCE in texts
    assert JA_PROPOSE in texts
    assert JA_NEUTRAL not in texts


def test_a_cost_over_plan_is_an_issue_not_a_proposed_solution() -> None:
    over_plan = "工事の費用が予定より高くなりました。"
    segments = [_seg(0.0, 3.0, over_plan), _seg(3.0, 6.0, "来週説明会を開く予定です。")]
    assert _texts(definition_issue(segments, language="ja")) == [over_plan]
    assert _texts(definition_solution(segments, language="ja")) == ["来週説明会を開く予定です。"]


def test_japanese_items_carry_the_times_of_their_segments() -> None:
    # Given Japanese sentences split across two segments without any space
    # When issues and solutions are extracted
    delay = _by_text(definition_issue(JA_SEGMENTS, language="ja"), JA_DELAY)
    propose = _by_text(definition_solution(JA_SEGMENTS, language="ja"), JA_PROPOSE)

    # Then each item spans both segments' times
    assert (delay["start"], delay["end"]) == (3.0, 11.0)
    assert (propose["start"], propose["end"]) == (24.0, 32.0)


# --- Language selection ------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["auto", ""])
def test_auto_detection_uses_japanese_cues_for_japanese_text(language: str) -> None:
    # Given a Japanese transcript and no explicit language
    # When issues and solutions are extracted
    issues = definition_issue(JA_SEGMENTS, language=language)
    solutions = definition_solution(JA_SEGMENTS, language=language)

    # Then the Japanese cues were used (English cues would find nothing in this text)
    assert definition_issue(JA_SEGMENTS, language="en") == []
    assert issues == definition_issue(JA_SEGMENTS, language="ja")
    assert solutions == definition_solution(JA_SEGMENTS, language="ja")
    assert JA_DELAY in _texts(issues)


@pytest.mark.parametrize("language", ["auto", "fr", "en-US"])
def test_english_text_uses_english_cues_for_auto_and_unknown_languages(
    language: str,
) -> None:
    # Given an English transcript with auto-detected, unknown or regional language codes
    # When issues are extracted
    issues = definition_issue(EN_SEGMENTS, language=language)

    # Then the English cues are applied
    assert issues == definition_issue(EN_SEGMENTS, language="en")


def test_ja_regional_code_uses_japanese_cues() -> None:
    assert definition_solution(JA_SEGMENTS, language="ja-JP") == definition_solution(JA_SEGMENTS, language="ja")


# --- Edge cases --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("segments", [[], [_seg(0.0, 1.0, "   ")]])
def test_empty_transcript_returns_empty_lists(segments: list[Segment]) -> None:
    assert summarize_text(segments) == []
    assert definition_issue(segments) == []
    assert definition_solution(segments) == []
    assert definition_issue(segments, language="auto") == []


def test_max_sentences_is_respected() -> None:
    # Given an eight-sentence transcript (nine segments)
    # When summarised with various limits
    # Then the limit caps the result, and a larger limit returns every sentence
    assert len(summarize_text(EN_SEGMENTS, max_sentences=2)) == 2
    assert len(summarize_text(EN_SEGMENTS, max_sentences=0)) == 0
    everything = summarize_text(EN_SEGMENTS, max_sentences=50)
    assert len(everything) == 8
    assert _texts(everything)[1] == EN_DELAY


def test_results_are_deterministic() -> None:
    for segments in (EN_SEGMENTS, JA_SEGMENTS):
        assert summarize_text(segments, language="auto") == summarize_text(segments, language="auto")
        assert definition_issue(segments, language="auto") == definition_issue(segments, language="auto")
        assert definition_solution(segments, language="auto") == definition_solution(segments, language="auto")


def test_japanese_sentences_are_found_without_the_full_stops_whisper_leaves_out() -> None:
    # What the multilingual base model wrote for Open JTalk's reading of a meeting (no 。 anywhere).
    segments = [
        _seg(0.0, 4.0, "本日の会議では配送のおくれについて話し合います"),
        _seg(4.0, 9.0, "北の倉庫への配送が3日おくれています住民から苦情が寄せられています"),
        _seg(9.0, 12.0, "来月までに運転手を2人増やすことを提案します"),
    ]
    issues = [item["text"] for item in definition_issue(segments, language="ja")]
    solutions = [item["text"] for item in definition_solution(segments, language="ja")]
    assert issues == [  # each sentence with a problem cue (おくれ, 苦情), cut where 。 was left out
        "本日の会議では配送のおくれについて話し合います", "北の倉庫への配送が3日おくれています",
        "住民から苦情が寄せられています",
    ]  # fmt: skip
    assert solutions == ["来月までに運転手を2人増やすことを提案します"]
    summary = summarize_text(segments, language="ja", max_sentences=2)
    assert all(len(item["text"]) <= 24 for item in summary)  # sentences, not the whole run-on transcript
    # A polite form followed by a particle does not end the sentence.
    joined = [_seg(0.0, 3.0, "予算が足りませんが、来週検討します")]
    assert [item["text"] for item in definition_issue(joined, language="ja")] == ["予算が足りませんが、来週検討します"]
