"""Language detection: an ISO 639-1 code and a confidence, or None when it cannot tell."""

from __future__ import annotations

import pytest

from normalize.language import MAX_CHARS, detect_language


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Hello, my invoice shows the wrong amount and I was charged twice this month.", "en"),
        ("Bonjour, ma facture est incorrecte, pouvez-vous la corriger rapidement ?", "fr"),
        ("Hallo, meine Rechnung ist falsch und ich wurde doppelt belastet.", "de"),
        ("Hola, no puedo iniciar sesión en mi cuenta desde ayer por la tarde.", "es"),
        ("Grazie mille per il vostro aiuto, il problema è risolto.", "it"),
        ("我的发票抬头还是错误的。请帮忙重新开具。", "zh"),
        ("注文の件で連絡しました。箱が壊れていました。", "ja"),
        ("Здравствуйте, я не могу войти в свой аккаунт уже второй день.", "ru"),
    ],
)
def test_detects_the_language_of_a_customer_message(text: str, code: str) -> None:
    # Given a customer message of a sentence or two
    # When its language is detected
    guess = detect_language(text)
    # Then it is the ISO 639-1 code of the language it is written in, with a probability
    assert guess is not None
    assert guess.code == code
    assert 0.5 <= guess.confidence <= 1.0


@pytest.mark.parametrize("text", ["", "ok", "Thanks!", "Hello there", "👍👍👍"])
def test_text_too_short_to_tell_gives_none(text: str) -> None:
    # Given a text with too few letters to tell a language
    # When its language is detected
    # Then there is no guess rather than a wrong one
    assert detect_language(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "12345 67890 !!! ??? ### 2024-11-02 42",
        "xkcd qwrtp zzgh bvnm lkjh",
        "https://example.com/a/b/c jane.doe@example.com www.example.org/path",
    ],
)
def test_garbage_without_language_gives_none(text: str) -> None:
    # Given digits, keyboard mashing, or nothing but links and addresses
    # When its language is detected
    # Then there is no guess
    assert detect_language(text) is None


def test_links_and_numbers_do_not_sway_the_guess() -> None:
    # Given a German message padded with links, an address and order numbers
    text = (
        "Bestellung 113542617735902 https://shop.example.com/orders/113542617735902 "
        "Meine Bestellung ist nicht angekommen, bitte helfen Sie mir. kunde@example.de"
    )
    # When its language is detected
    guess = detect_language(text)
    # Then it is German
    assert guess is not None and guess.code == "de"


def test_only_the_beginning_of_a_long_text_is_read() -> None:
    # Given French text followed by a very long English tail
    french = "Bonjour, je n'arrive plus à me connecter à mon compte depuis hier soir. " * 40
    text = french[:MAX_CHARS] + "Please help me, this is still broken. " * 100_000
    # When its language is detected
    guess = detect_language(text)
    # Then the tail beyond the bound is not read: the answer is French
    assert guess is not None and guess.code == "fr"


def test_a_stricter_confidence_gives_none_for_a_borderline_text() -> None:
    # Given a short Portuguese sentence the model is sure about, but not certain
    text = "Obrigado, o problema foi resolvido."
    guess = detect_language(text)
    assert guess is not None and guess.code == "pt" and guess.confidence < 0.999
    # When asked with a confidence bar above that
    # Then there is no guess
    assert detect_language(text, min_confidence=0.999) is None


def test_words_of_several_languages_give_none() -> None:
    # Given a greeting that mixes four languages
    # When its language is detected with the default bar
    # Then the model's best guess is too unsure to be given
    assert detect_language("Merci beaucoup, thanks a lot, danke schön") is None
