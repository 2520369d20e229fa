"""Hybrid retrieval: the right article for German and English questions, filters, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import (
    Audience,
    HashingEmbedder,
    IndexMissing,
    KnowledgeBase,
    Language,
    default_articles_dir,
    ingest_directory,
)


@pytest.mark.parametrize(
    ("query", "language", "expected"),
    [
        ("Wann kommt meine Bestellung an?", "de", "shop-tracking-de"),
        ("Where is my parcel?", "en", "shop-tracking-en"),
        ("Ich möchte etwas zurückschicken", "de", "shop-returns-de"),
        ("I want my money back", "en", "shop-refunds-en"),
        ("Rechnung herunterladen", "de", "shop-invoices-de"),
        ("Can I pay with PayPal?", "en", "shop-payment-en"),
        ("Die Gläser sind kaputt angekommen", "de", "shop-damaged-goods-de"),
        ("Ist ein Wasserschaden versichert?", "de", "ins-water-damage-de"),
        ("Is water damage covered?", "en", "ins-water-damage-en"),
        ("Wie melde ich einen Schaden?", "de", "ins-report-claim-de"),
        ("what documents do you need", "en", "ins-documents-en"),
        ("Mein Fahrrad wurde gestohlen", "de", "ins-bicycle-de"),
        ("I am moving house", "en", "ins-contract-changes-en"),
        ("Vertrag kündigen Kündigungsfrist", "de", "ins-cancellation-de"),
        ("How long does shipping take", "en", "shop-shipping-en"),
    ],
)
def test_top_hit_is_the_right_article(kb: KnowledgeBase, query: str, language: str, expected: str) -> None:
    hits = kb.search(query, language=language, k=3)
    assert hits[0].article_id == expected


def test_hit_carries_id_title_score_snippet(kb: KnowledgeBase) -> None:
    hit = kb.search("Rücksendung 30 Tage", language="de")[0]
    assert hit.article_id == "shop-returns-de"
    assert hit.title == "Rücksendung innerhalb von 30 Tagen"
    assert hit.score > 0
    assert "30 Tagen" in hit.snippet
    assert hit.source_id == "kb:shop-returns-de"


def test_language_filter_keeps_to_the_requested_language(kb: KnowledgeBase) -> None:
    hits = kb.search("returns refund Rücksendung Erstattung", language=Language.EN, k=10)
    assert hits and all(h.language is Language.EN for h in hits)


def test_falls_back_to_the_other_language_when_nothing_matches(kb: KnowledgeBase) -> None:
    hits = kb.search("Kündigungsfrist", language="en")
    assert hits[0].article_id == "ins-cancellation-de"
    assert hits[0].language is Language.DE


def test_internal_articles_only_when_asked(kb: KnowledgeBase) -> None:
    query = "Kulanz Gutschein verspätete Lieferung"
    assert all(h.audience is Audience.CUSTOMER for h in kb.search(query, k=20))
    with_internal = kb.search(query, k=20, include_internal=True)
    assert with_internal[0].article_id == "internal-goodwill-shop-de"


def test_unrelated_or_empty_query_finds_nothing(kb: KnowledgeBase) -> None:
    assert kb.search("Tell me a joke about penguins", language="en") == []
    assert kb.search("   ", language="de") == []


def test_persisted_index_answers_like_the_fresh_one(kb: KnowledgeBase, tmp_path: Path) -> None:
    kb.save(tmp_path / "index")
    files = {p.suffix for p in (tmp_path / "index").rglob("*") if p.is_file()}
    assert files <= {".json", ".npy", ".npz"}  # no pickle
    loaded = KnowledgeBase.load(tmp_path / "index")
    for query in ("Wo ist mein Paket?", "water damage", "PayPal"):
        assert loaded.search(query) == kb.search(query)


def test_hybrid_index_with_embedder_round_trips(tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    kb = ingest_directory(default_articles_dir(), index_dir=tmp_path / "hybrid", embedder=embedder)
    assert kb.hybrid
    loaded = KnowledgeBase.load(tmp_path / "hybrid", embedder=embedder)
    assert loaded.hybrid
    assert loaded.search("Fahrrad gestohlen", language="de") == kb.search("Fahrrad gestohlen", language="de")
    assert kb.search("Fahrrad gestohlen", language="de")[0].article_id == "ins-bicycle-de"


def test_loading_a_missing_index_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match="glassdesk kb ingest"):
        KnowledgeBase.load(tmp_path / "missing")
