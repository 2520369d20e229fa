"""A name, a title, a regional word or the du-form must not change how a message is understood."""

from __future__ import annotations

import pytest

from understanding import IntentModel, LanguageDetector, Redactor, redact, understand
from understanding.language import UNKNOWN_LANGUAGE, LanguageReason
from understanding.neutral import language_text, model_text
from understanding.variants import standardise


def _model_text(text: str) -> str:
    return model_text(text, redact(text).entities)


def test_names_and_their_titles_are_removed() -> None:
    assert _model_text("Frau Nowak hier. Ich finde die Rechnung nicht.") == "hier. Ich finde die Rechnung nicht."
    assert _model_text("Are you open on bank holidays? Ayşe Yılmaz") == "Are you open on bank holidays?"
    assert _model_text("Danke im Voraus, Herr Dr. Okafor") == "Danke im Voraus,"
    assert _model_text("Where is my order 12345?") == "Where is my order 12345?"  # no name: as written


def test_language_text_drops_all_personal_data() -> None:
    text = "Please call me on +44 20 7946 0958 or write to emily.smith@example.com. Emily Smith"
    stripped = language_text(text, redact(text).entities)
    assert "7946" not in stripped and "@" not in stripped and "Smith" not in stripped
    assert stripped.startswith("Please call me on")


@pytest.mark.parametrize(
    ("regional", "standard"),
    [
        ("Wo ist mein Sackerl? Ich war im Spital.", "Wo ist mein Tüte? Ich war im Krankenhaus."),
        ("Könnt ihr mir deine Polizze schicken?", "Können Sie mir Ihre Police schicken?"),
        ("Grüezi, hast du mein Velo?", "Guten Tag, haben Sie mein Fahrrad?"),
        ("Servus, wo ist mein Radl?", "Hallo, wo ist mein Fahrrad?"),
    ],
)
def test_regional_words_and_du_form_become_standard_german(regional: str, standard: str) -> None:
    assert standardise(regional) == standard


def test_english_text_is_not_standardised() -> None:
    text = "Hoi polloi aside, do you ship to Switzerland?"
    assert standardise(text) == text


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # none of these variants is in the fairness templates
        (
            "Wie lange dauert die Lieferung? Grüße, Anna Schmidt",
            "Wie lange dauert die Lieferung? Grüße, Oluwaseun Adeyemi",
        ),
        ("Ms Kowalczyk here, my parcel never arrived.", "Mr Kowalczyk here, my parcel never arrived."),
    ],
)
def test_name_pairs_are_understood_alike(demo_model: IntentModel, a: str, b: str) -> None:
    detector, redactor = LanguageDetector(), Redactor()
    ua = understand(a, model=demo_model, language_detector=detector, redactor=redactor)
    ub = understand(b, model=demo_model, language_detector=detector, redactor=redactor)
    assert (ua.intent, ua.language, ua.sentiment) == (ub.intent, ub.language, ub.sentiment)
    assert ua.confidence == pytest.approx(ub.confidence, abs=1e-6)
    assert ua.emotions == pytest.approx(ub.emotions, abs=1e-6)


def test_a_name_does_not_change_the_language() -> None:
    detector = LanguageDetector()
    for name in ("Ayşe Yılmaz", "Katarzyna Nowak", "Nguyễn Văn An", "Chinedu Okafor"):
        text = f"Are you open on bank holidays? {name}"
        assert detector.detect(language_text(text, redact(text).entities)).code == "en", name


@pytest.mark.parametrize("text", ["Hello", "Hallo", "Servus", "Moin", "Grazie", "agent"])
def test_a_lone_greeting_is_not_a_confident_guess(text: str) -> None:
    guess = LanguageDetector().detect(text)
    assert guess.code == UNKNOWN_LANGUAGE and guess.reason is LanguageReason.TOO_SHORT


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Bonjour", "fr"),
        ("Danke schön", "de"),
        ("Thank you", "en"),
        ("Gdzie jest moje zamówienie?", "pl"),
        ("Siparişim nerede?", "tr"),
        ("Waar is mijn bestelling?", "nl"),
        ("Où est ma commande ? J'attends depuis une semaine.", "fr"),
    ],
)
def test_the_prior_keeps_other_languages_that_have_the_evidence(text: str, code: str) -> None:
    assert LanguageDetector().detect(text).code == code


def test_without_prior_hello_is_the_old_wrong_guess() -> None:
    """The check above can fail: with no prior and no minimum evidence lingua calls "Hello" Italian."""
    guess = LanguageDetector(prior_weight=1.0, short_letters=0).detect("Hello")
    assert guess.code == "it"


def test_prior_weight_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="prior_weight"):
        LanguageDetector(prior_weight=0.5)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # none of these variants is in the fairness templates
        ("Im Packerl fehlt ein Teil.", "Im Paket fehlt ein Teil."),
        ("Hast du meine Rechnung vom Jänner?", "Haben Sie meine Rechnung vom Januar?"),
        ("Könnt ihr mir die Polizze schicken?", "Können Sie mir die Police schicken?"),
    ],
)
def test_intent_features_read_standard_german(demo_model: IntentModel, a: str, b: str) -> None:
    assert demo_model.featurizer.standardise_german
    pa, pb = demo_model.predict(a), demo_model.predict(b)
    assert (pa.intent, pa.out_of_scope) == (pb.intent, pb.out_of_scope)
    assert pa.confidence == pytest.approx(pb.confidence, abs=1e-6)


def test_models_saved_before_standardisation_keep_their_inputs(demo_model: IntentModel) -> None:
    from understanding.features import Featurizer

    config, arrays = demo_model.featurizer.export()
    assert config["standardise_german"] is True
    del config["standardise_german"]  # as in a model.json written before it existed
    assert Featurizer.restore(config, arrays).standardise_german is False
