"""Topics: the lexicon labeller on short hand-written texts, subtopics, scores, key phrases."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from pipeline.config import RunSettings
from transforms.core.records import Article
from transforms.core.settings import ConfigError, choose
from transforms.core.text import tokens
from transforms.keyphrases import AddKeyphrases, KeyphraseSettings, keyphrases
from transforms.topics import TOPIC_BACKENDS, EncoderSettings, LexiconTopics, VectorSettings

TEXTS = {
    "sport": ("United win the cup final",
              "The striker scored twice as United beat City 3-1 in the cup final at the stadium. "
              "The manager praised his players and the goalkeeper after the match."),
    "economy, business and finance": (
        "Bank raises interest rates",
        "The central bank raised interest rates to curb inflation. Shares fell and the "
        "company said profits and revenue would be lower this quarter as investors sold stock."),
    "politics": ("Minister resigns before election",
                 "The prime minister accepted the resignation as the party prepared for the "
                 "election campaign. Opposition lawmakers in parliament called for a vote."),
    "conflict, war and peace": (
        "Ceasefire collapses",
        "Troops and militants resumed fighting after rocket attacks and airstrikes ended the "
        "ceasefire. The army said soldiers were killed as the war spread."),
    "weather": ("Storm warning issued",
                "Forecasters warned of heavy rain, snow and wind as temperatures fall below "
                "freezing; the weather service expects the storm to pass by Friday."),
    "health": ("Hospital cases rise",
               "Doctors and nurses at the hospital treated more patients for the virus as the "
               "outbreak spread; health officials urged vaccination."),
    "science and technology": (
        "New smartphone chip unveiled",
        "The company unveiled a processor for smartphones and laptops; the software update "
        "lets users download apps faster over wireless networks."),
    "arts, culture, entertainment and media": (
        "Film wins top award at festival",
        "The film's director and its lead actress thanked the cast as the movie took the top "
        "prize at the festival; the soundtrack album will be released next month."),
}


@pytest.fixture(scope="module")
def labeller(settings: RunSettings) -> LexiconTopics:
    dofn = LexiconTopics(settings.topics)
    dofn.setup()
    return dofn


def topics_of(labeller: LexiconTopics, title: str | None, text: str) -> Any:
    found = list(labeller.process([Article("a9", "s", "text", text, title=title,
                                           language="en")]))
    assert all(t.article_id == "a9" for t in found)
    return SimpleNamespace(topics=tuple(found))


@pytest.mark.parametrize("label", sorted(TEXTS))
def test_top_topic_per_category(label: str, labeller: LexiconTopics) -> None:
    found = topics_of(labeller, *TEXTS[label])
    top_level = [t for t in found.topics if t.parent_id is None]
    assert top_level[0].topic == label
    assert top_level[0].topic_id.startswith("medtop:")
    assert all(0.0 <= t.score <= 1.0 for t in found.topics)
    scores = [t.score for t in top_level]
    assert scores == sorted(scores, reverse=True)


def test_subtopics_sit_under_a_chosen_parent(labeller: LexiconTopics) -> None:
    found = topics_of(labeller, "Delegation visits Damascus to restore relations",
                      "A senior delegation will hold talks with the foreign minister and the "
                      "ambassador to restore diplomatic relations, officials said. The visit "
                      "follows months of mediation and negotiations between the governments.")
    parents = {t.topic_id for t in found.topics if t.parent_id is None}
    subtopics = [t for t in found.topics if t.parent_id is not None]
    assert ("medtop:20000639", "diplomacy", "medtop:11000000") in {
        (t.topic_id, t.topic, t.parent_id) for t in subtopics}
    assert all(t.parent_id in parents for t in subtopics)
    parent_score = {t.topic_id: t.score for t in found.topics if t.parent_id is None}
    assert all(t.score <= parent_score[t.parent_id] for t in subtopics)


def test_no_text_gets_no_topics(labeller: LexiconTopics, settings: RunSettings) -> None:
    """An empty text gets none; a text that names no subject none from the lexicon, and from
    the trained head (which alone reads a text this short) a guess under one half, in English
    as in French."""
    assert topics_of(labeller, None, "").topics == ()
    lorem = ("Untitled", "Lorem ipsum dolor sit amet.")
    assert topics_of(without_encoder(settings), *lorem).topics == ()
    assert all(t.score < 0.5 for t in topics_of(labeller, *lorem).topics)
    french = labeller.process([Article("a9", "s", "text", lorem[1], title=lorem[0],
                                       language="fr")])
    assert all(t.score < 0.5 for t in french)


def keywords_only(settings: RunSettings, **vectors: Any) -> LexiconTopics:
    """A labeller with the vectors changed as given and no encoder."""
    return without_encoder(settings, vectors=replace(settings.topics.vectors, **vectors))


def without_encoder(settings: RunSettings, **changes: Any) -> LexiconTopics:
    dofn = LexiconTopics(replace(settings.topics, encoder=EncoderSettings(package=None),
                                 head=None, **changes))
    dofn.setup()
    return dofn


def test_word_vectors_place_a_text_its_keywords_misread(labeller: LexiconTopics,
                                                         settings: RunSettings) -> None:
    """"Strikes" is a labour keyword; pitcher, batters and innings are no keyword at all, but
    their vectors sit among sport's keywords: with the vectors, sport comes first (and with
    the trained head too, which reads this short text mostly by itself)."""
    title, text = ("Rookie pitcher strikes out ten",
                   "The rookie pitcher struck out ten batters in seven innings.")
    for off in (keywords_only(settings, package=None), keywords_only(settings, weight=0.0)):
        assert topics_of(off, title, text).topics[0].topic == "labour"
    found = [t for t in topics_of(without_encoder(settings), title, text).topics
             if t.parent_id is None]
    assert [t.topic for t in found] == ["sport", "labour"]
    assert found[0].score > found[1].score >= 0.15
    assert topics_of(labeller, title, text).topics[0].topic == "sport"


def test_a_text_near_no_topic_gets_none_from_its_vectors(labeller: LexiconTopics) -> None:
    """No keyword, and no centroid at min_cosine: no topic (not the least far one)."""
    centroids = labeller.centroids
    assert centroids is not None
    assert centroids.nearness([(tokens("Lorem ipsum dolor sit amet."), 1.0)]) == {}
    assert centroids.nearness([([], 1.0)]) == {}
    near = centroids.nearness([(tokens("The striker scored twice in the derby."), 1.0)])
    assert max(near, key=near.get) == "medtop:15000000"
    assert sum(near.values()) == pytest.approx(1.0)


def test_word_vectors_package_missing_says_what_to_do(settings: RunSettings) -> None:
    with pytest.raises(ConfigError, match="topics.vectors.package.*not installed.*null"):
        keywords_only(settings, package="no_such_vectors_package")
    with pytest.raises(ConfigError, match="wordfreq has no word frequencies"):
        replace(settings.topics, languages=("xx",))
    with pytest.raises(ConfigError, match="topics.vectors.min_cosine"):
        VectorSettings(min_cosine=2.0)


# A headline and its first sentence whose keywords tie: "striker" is also a labour word,
# "record" and "deal" are arts' and business's; what it says is a football transfer.
TRANSFER = ("Striker joins rivals in record deal",
            "The forward signed a five-year contract worth 60 million euros.")


@pytest.fixture(scope="module")
def keywords_and_encoder(settings: RunSettings) -> LexiconTopics:
    """Keywords and the encoder's prototypes (no trained head, no vectors)."""
    dofn = LexiconTopics(replace(settings.topics, vectors=VectorSettings(package=None),
                                 head=None))
    dofn.setup()
    return dofn


def test_the_encoder_decides_a_short_text_its_keywords_leave_unclear(
        keywords_and_encoder: LexiconTopics, settings: RunSettings) -> None:
    keywords = [t for t in topics_of(keywords_only(settings, package=None), *TRANSFER).topics
                if t.parent_id is None]
    assert keywords[0].score == keywords[1].score
    assert "sport" in {keywords[0].topic, keywords[1].topic}
    found = [t for t in topics_of(keywords_and_encoder, *TRANSFER).topics
             if t.parent_id is None]
    assert found[0].topic == "sport"
    assert found[0].score > found[1].score >= 0.15


def test_the_encoder_is_consulted_on_unclear_short_texts_only(
        keywords_and_encoder: LexiconTopics, monkeypatch: Any) -> None:
    prototypes = keywords_and_encoder.prototypes
    assert prototypes is not None
    consulted: list[str] = []
    monkeypatch.setattr(type(prototypes), "nearness",
                        lambda self, title, lead: consulted.append(title) or {})
    assert topics_of(keywords_and_encoder, *TEXTS["sport"]).topics[0].topic == "sport"
    assert consulted == []
    tied, clear = {"sport": 0.4, "arts": 0.4}, {"sport": 0.9, "arts": 0.1}
    assert prototypes.consulted(tied, 20)
    assert not prototypes.consulted(tied, prototypes.settings.max_words + 1)
    assert not prototypes.consulted(clear, 20)
    assert not prototypes.consulted({}, 20)
    assert not prototypes.consulted({"sport": 0.0}, 20)
    topics_of(keywords_and_encoder, *TRANSFER)
    assert consulted == [TRANSFER[0]]


def test_topic_prototypes_are_near_their_subjects(keywords_and_encoder: LexiconTopics) -> None:
    prototypes = keywords_and_encoder.prototypes
    assert prototypes is not None and len(prototypes.codes) == 17
    near = prototypes.nearness("Quake flattens villages", "Rescuers dug through the rubble.")
    assert max(near, key=near.get) == "medtop:03000000"
    assert sum(near.values()) == pytest.approx(1.0)


def test_encoder_package_missing_says_what_to_do(settings: RunSettings) -> None:
    with pytest.raises(ConfigError, match="topics.encoder.package.*not installed.*null"):
        replace(settings.topics, encoder=EncoderSettings(package="no_such_encoder"))
    with pytest.raises(ConfigError, match="topics.encoder"):
        EncoderSettings(temperature=0.0)


def test_more_evidence_scores_higher(settings: RunSettings) -> None:
    """In texts of about the same length, one keyword is weaker evidence than several (the
    encoder, which reads what a short unclear text says, left out)."""
    labeller = without_encoder(settings)
    filler = " People walked along the river and talked quietly about the long afternoon." * 6
    one = topics_of(labeller, None, "The striker scored." + filler).topics
    several = topics_of(labeller, None, TEXTS["sport"][1] + filler).topics
    assert one[0].topic == several[0].topic == "sport"
    assert one[0].score < several[0].score


def test_party_name_is_politics_not_labour(labeller: LexiconTopics) -> None:
    found = topics_of(labeller, "Labour and Tories clash over budget",
                      "Labour MPs and the Tories clashed in the Commons over the budget, as the "
                      "Chancellor defended his plans before the election.")
    assert found.topics[0].topic == "politics"
    assert "labour" not in {t.topic for t in found.topics}


def test_subtopic_evidence_counts_for_its_parent(labeller: LexiconTopics) -> None:
    """"Education policy" and "white paper" are government-policy words (a politics subtopic);
    they make politics the top topic of a schools plan announced by ministers."""
    found = topics_of(labeller, "Ministers publish white paper on schools",
                      "Ministers published a white paper setting out their education policy "
                      "for schools; the proposals go to a public consultation.")
    assert found.topics[0].topic == "politics"
    assert "government policy" in {t.topic for t in found.topics}


@pytest.mark.parametrize(("text", "not_topic"), [
    ("Detectives continued their investigation of the burglary.",
     "economy, business and finance"),
    ("Leaders of the European Union met the Soviet Union's successor states.", "labour"),
    ("Arsenal beat Chelsea at the stadium after a late goal.", "conflict, war and peace"),
    ("Windows users can download the update from the website.", "weather"),
])
def test_word_starts_do_not_match_unrelated_words(text: str, not_topic: str,
                                                  labeller: LexiconTopics) -> None:
    lexicon = labeller.lexicon
    label = {t.topic_id: t.label for t in lexicon.topics}
    hit_topics = {label[topic_id] for topic_id, *_ in lexicon.hits(tokens(text))}
    assert not_topic not in hit_topics
    assert not_topic not in {t.topic for t in topics_of(labeller, None, text).topics}


def test_keyphrases_prefer_repeated_multiword_names() -> None:
    finder = AddKeyphrases(KeyphraseSettings(limit=3))
    finder.setup()
    stopwords = finder.stopwords
    text = ("The Riverside Council met on Monday. Riverside Council approved the bus plan.\n\n"
            "The bus plan was opposed by the Green Party. The Green Party said the bus plan "
            "was too costly, and the Riverside Council should wait. Visit example.com today.")
    phrases = keyphrases("Riverside Council backs bus plan", text, stopwords, limit=3)
    assert sorted(phrases) == ["Green Party", "Riverside Council", "bus plan"]
    assert "example.com" not in phrases and "com" not in phrases
    assert keyphrases(None, "", stopwords, limit=10) == []
    assert len(keyphrases(None, text, stopwords, limit=2)) == 2
    [article] = finder.process(Article("a1", "s", "text", text, title="Riverside Council vote",
                                       language="en"))
    assert article.article_id == "a1" and article.text == text
    assert sorted(article.keyphrases) == ["Green Party", "Riverside Council", "bus plan"]


def test_unknown_backend_lists_valid_choices() -> None:
    with pytest.raises(ValueError, match="valid choices: lexicon_topics"):
        choose(TOPIC_BACKENDS, "zero_shot", "topics.backend")


def test_common_words_that_share_a_keywords_start_are_no_evidence(
        labeller: LexiconTopics, settings: RunSettings) -> None:
    """A `word*` keyword whose stem starts common unrelated words is spelled out, and a time of
    day is no evidence ("PM" also stands for Prime Minister)."""
    text = ("It is important to note that the general manager and a couple of European "
            "electronic signs finally met near Churchill's old house in Crimea, calling it a "
            "matching, forward-looking talk.")
    assert [hit[1] for hit in labeller.lexicon.hits(tokens(text))] == []
    assert topics_of(labeller, None, "The PM met the cabinet.").topics[0].topic == "politics"
    doors = "Doors open at 12:19 PM and at 5 p.m."
    assert topics_of(without_encoder(settings), None, doors).topics == ()


def test_each_keyword_is_listed_once_per_topic(settings: RunSettings) -> None:
    """A keyword listed twice under one topic is looked up twice for nothing."""
    entries = [entry for top in settings.topics.lexicon.values()
               for entry in (top, *(top.get("subtopics") or {}).values())]
    for entry in entries:
        words = [*entry["keywords"], *(entry.get("iptc_keywords") or [])]
        assert sorted(w for w in set(words) if words.count(w) > 1) == [], entry["label"]


FOREIGN = {
    "fr": ("Le PSG remporte la finale de la Coupe de France",
           "Les Parisiens ont battu Lyon 3-1 samedi soir au Stade de France. L'attaquant a "
           "marqué deux buts en seconde période devant 80 000 spectateurs, et l'entraîneur a "
           "salué la victoire de son équipe."),
    "de": ("Bundestag beschließt neues Heizungsgesetz",
           "Nach monatelangem Streit hat der Bundestag das Gesetz mit den Stimmen der "
           "Koalition verabschiedet. Die Opposition kündigte an, vor das Verfassungsgericht "
           "zu ziehen; der Kanzler verteidigte den Kompromiss der Regierungsparteien."),
}


@pytest.mark.parametrize(("language", "expected"), [("fr", "sport"), ("de", "politics")])
def test_french_and_german_articles_get_topics_and_no_english_key_phrases(
        labeller: LexiconTopics, language: str, expected: str) -> None:
    """The trained head reads every language the encoder reads: a French and a German article
    get top-level topics (no subtopics: the vocabulary is English) and no key phrases."""
    title, text = FOREIGN[language]
    article = Article("f1", "s", "text", text, title=title, language=language)
    found = list(labeller.process([article]))
    assert found and found[0].topic == expected and 0.15 <= found[0].score <= 1.0
    assert all(t.parent_id is None for t in found)
    finder = AddKeyphrases(KeyphraseSettings())
    finder.setup()
    [phrased] = finder.process(article)
    assert phrased.keyphrases == ()


def test_leads_encoded_beside_entities_give_the_same_topics_in_their_windows(
        labeller: LexiconTopics, settings: RunSettings) -> None:
    """EncodeLeads (run where NER runs) sets the lead_vector of each article the head will
    read to the encoder's reading of its headline and lead, in the article's own window: a
    French article, and an English one whose lexicon leaves two topics close; English texts
    the lexicon finds clear and an empty one pass unchanged. The topics scored from those
    vectors are the ones scored by encoding in the topics stage."""
    import apache_beam as beam
    import numpy as np
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to
    from apache_beam.transforms.window import FixedWindows, TimestampedValue

    from transforms.resources.text_encoder import encode
    from transforms.topics import EncodeLeads
    from transforms.topics.features import lead_text

    articles = [Article(f"a{n}", "s", "text", text, title=title, language="en")
                for n, (title, text) in enumerate(TEXTS.values())]
    articles += [Article("fr", "s", "text", FOREIGN["fr"][1], title=FOREIGN["fr"][0],
                         language="fr"), Article("empty", "s", "text", " ", language="en"),
                 Article("tied", "s", "text", "The singer's record label said profits rose after "
                         "the album sold a million copies.", language="en",
                         title="Star's new album tops charts as label shares jump")]
    encoder = settings.topics.encoder
    expected = {a.article_id: encode(encoder.package, [lead_text(a.title, a.text,
                                                                 encoder.lead_words)])[0]
                for a in articles if a.article_id in ("fr", "tied")}

    def vector_and_window(article: Article, window=beam.DoFn.WindowParam) -> Any:  # noqa: ANN001
        vector = (None if article.lead_vector is None else
                  bool(np.allclose(np.frombuffer(article.lead_vector, np.float32),
                                   expected[article.article_id], atol=1e-6)))
        return article.article_id, vector, int(window.start)

    with TestPipeline() as p:
        stamped = (p | beam.Create([(n * 10, a) for n, a in enumerate(articles)])
                   | beam.Map(lambda pair: TimestampedValue(pair[1], pair[0]))
                   | beam.WindowInto(FixedWindows(10)))
        encoded = stamped | EncodeLeads(replace(settings.topics))
        assert_that(encoded | beam.Map(vector_and_window), equal_to(
            [(a.article_id, a.article_id in expected or None, n * 10)
             for n, a in enumerate(articles)]))

    dofn = LexiconTopics(settings.topics)
    dofn.setup()
    with_vectors = [replace(a, lead_vector=expected[a.article_id].tobytes())
                    if a.article_id in expected else a for a in articles if a.text.strip()]
    scored = [(t.article_id, t.topic_id, round(t.score, 5))
              for t in dofn.process(with_vectors)]
    assert scored == [(t.article_id, t.topic_id, round(t.score, 5))
                      for t in labeller.process([a for a in articles if a.text.strip()])]
    assert {article_id for article_id, _, _ in scored} == {a.article_id for a in with_vectors}
