from __future__ import annotations

from cherish.care import queries
from cherish.care.models import Snippet, TonePhrase
from cherish.care.tone import render_snippet, tone_check, unedited_snippet

PHRASES = [
    ("our policy states", "Explain what you can do, in your own words."),
    ("as I already explained", "Let me put that more clearly."),
    ("you should have", "Here is what I can do now."),
]


def test_tone_check_finds_defensive_phrases_in_text_order():
    text = "You should have kept the receipt.\nAs  I  ALREADY explained, our policy states so."
    hits = tone_check(text, PHRASES)
    assert [(h.found, h.suggestion) for h in hits] == [
        ("You should have", "Here is what I can do now."),
        ("As  I  ALREADY explained", "Let me put that more clearly."),
        ("our policy states", "Explain what you can do, in your own words."),
    ]
    assert text[hits[1].start : hits[1].end] == "As  I  ALREADY explained"


def test_tone_check_matches_curly_quotes_and_whole_words_only():
    hits = tone_check(
        "That\u2019s not our fault; calm downstairs",
        [
            ("that's not our fault", "I am sorry this happened."),
            ("calm down", "I understand."),
        ],
    )
    assert [h.found for h in hits] == ["That\u2019s not our fault"]


def test_kind_text_has_no_hints():
    assert tone_check("Thank you for telling us; I am sorry.", PHRASES) == []


def test_snippet_placeholders_are_filled():
    body = "Dear {customer_first_name}, I am {owner_first_name} ({reference}). {unknown}"
    assert (
        render_snippet(
            body, {"customer_first_name": "Carla", "owner_first_name": "Alice", "reference": "CH-1"}
        )
        == "Dear Carla, I am Alice (CH-1). {unknown}"
    )


def test_unedited_snippet_is_flagged_and_a_personal_one_is_not():
    snippets = [("Sorry", "Dear Carla,\n\nI am sorry this happened. Alice")]
    assert unedited_snippet("Dear Carla, I am sorry this happened.  Alice", snippets) == "Sorry"
    assert unedited_snippet("Dear Carla, I am sorry this happened! Alice", snippets) == "Sorry"
    personal = (
        "Dear Carla,\n\nI am sorry your kettle arrived broken the day before your party. "
        "A new one is on its way by courier tomorrow. Alice"
    )
    assert unedited_snippet(personal, snippets) is None
    assert unedited_snippet("", snippets) is None


def test_reply_hints_use_the_phrase_list_from_the_database(complaint, agent):
    # given: the seeded phrases plus one the organisation added
    TonePhrase.objects.create(phrase="per the terms", suggestion="In plain words: …")
    Snippet.objects.create(
        title="Quick", body="Hi {customer_first_name}, on it. {owner_first_name}"
    )
    # when
    hints = queries.reply_hints(complaint, "Hi Carla, on it. Alice", by=agent)
    tone = queries.reply_hints(complaint, "Per the terms, our policy states no.", by=agent)
    # then
    assert hints["unedited_snippet"] == "Quick"
    assert [h.phrase for h in tone["tone"]] == ["per the terms", "our policy states"]
    assert tone["unedited_snippet"] is None
