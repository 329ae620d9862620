"""Stories: reports of one event share a story across outlets and runs, lookalike events stay
apart, a story grows across runs, and two stories found to be one keep the older id."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SEEDS, read_dataset, seeds_in_three_runs

from pipeline import cli
from transforms.core import metrics
from transforms.core.records import Article
from transforms.stories.candidates import KEYS_TOO_COMMON, Link, ScoreBlocks, block_links
from transforms.stories.clusters import Member, UniteLinks, assign
from transforms.stories.links import strong_enough
from transforms.stories.profiles import cosine, period_of, profile_of
from transforms.stories.settings import StorySettings

SETTINGS = StorySettings()
NOW = datetime(2026, 11, 22, tzinfo=UTC)

QUAKE_NEPAL = """Earthquake kills 38 in western Nepal

A magnitude 5.9 earthquake struck the Jajarkot district of western Nepal late on Friday,
killing at least 38 people and flattening mud-brick homes in the villages of Ramidanda and
Chiuri, officials said.
Prime Minister Pushpa Kamal Dahal flew to Jajarkot on Saturday morning with an army medical
team. The district's chief administrator, Suresh Sunar, said rescuers were still digging
through collapsed houses in Ramidanda, and that 140 injured people had been taken to the
hospital in Khalanga.
"""
QUAKE_NEPAL_AGAIN = """Rescuers dig for survivors after Jajarkot quake

Soldiers and villagers dug through rubble in Nepal's Jajarkot district on Saturday after the
magnitude 5.9 tremor that killed 38 people in Ramidanda and Chiuri overnight.
Pushpa Kamal Dahal, the prime minister, visited the hospital in Khalanga, where 140 injured
were treated. Suresh Sunar, Jajarkot's chief administrator, said the death toll could rise as
teams reach remote hamlets.
"""
QUAKE_CHILE = """Strong earthquake shakes northern Chile

A magnitude 7.1 earthquake hit near the port city of Antofagasta in northern Chile on
Wednesday, cutting power to 20,000 homes and damaging the copper mine at Escondida, the
interior ministry said.
President Gabriel Boric said two miners were hurt at Escondida. The navy briefly issued a
tsunami warning for the coast between Taltal and Mejillones before lifting it an hour later.
"""
FLOODS = """Floods cut off Porto Alegre as Guaiba river rises

The Guaiba river rose to a record 5.3 metres in Porto Alegre, flooding the city centre and the
airport, and the death toll from the floods in Rio Grande do Sul reached 83, the state's
civil defence said.
Governor Eduardo Leite said 121,000 people had left their homes and asked for federal troops.
"""
HORSE = """Horse stranded on a rooftop in Canoas is rescued

Firefighters in Canoas lifted a horse named Caramelo from the roof of a house where it had
stood for four days, surrounded by water, television images showed.
A veterinarian, Lucas Nascimento, said Caramelo was dehydrated but calm, and that the animal
would be looked after at the Ulbra university stables.
"""


QUAKE_NEPAL_FIRST = """Earthquake strikes western Nepal

A strong earthquake struck western Nepal late on Friday night, the police said. Houses
collapsed in the Jajarkot district.
"""
QUAKE_NEPAL_REWRITES = ["""Jajarkot quake: soldiers search rubble in Ramidanda and Chiuri

The death toll could rise as teams reach remote hamlets, Suresh Sunar, Jajarkot's chief
administrator, said on Saturday. The magnitude 5.9 tremor killed 38 people overnight.
Prime minister Pushpa Kamal Dahal went to the hospital in Khalanga, where 140 injured people
are being treated, as villagers and soldiers dug through the rubble in Nepal's Jajarkot.
""", """Nepal: 38 dead as Jajarkot tremor flattens Ramidanda and Chiuri

In Khalanga, 140 injured were treated at the hospital that Pushpa Kamal Dahal, the prime
minister, visited on Saturday. Soldiers and villagers dug through rubble across Jajarkot
after the magnitude 5.9 tremor. Suresh Sunar, the district's chief administrator, warned that
the toll could rise once teams reach remote hamlets.
"""]


def article(text: str, article_id: str = "a") -> Article:
    title, _, body = text.partition("\n\n")
    return Article(article_id, "test", "text", body, title=title, language="en")


def similarity(one: str, other: str) -> float:
    return cosine(profile_of(article(one), SETTINGS, NOW).vector(),
                  profile_of(article(other), SETTINGS, NOW).vector())


def test_profiles_tell_one_event_from_a_lookalike() -> None:
    same = similarity(QUAKE_NEPAL, QUAKE_NEPAL_AGAIN)
    lookalike = similarity(QUAKE_NEPAL, QUAKE_CHILE)
    assert same >= SETTINGS.threshold > lookalike
    assert similarity(FLOODS, HORSE) < SETTINGS.threshold
    profile = profile_of(article(QUAKE_NEPAL), SETTINGS, NOW)
    assert "jajarkot" in profile.terms[:SETTINGS.key_terms]
    assert "the" not in profile.terms and "said" not in profile.terms


def test_a_language_without_word_frequencies_or_spaces_gets_no_terms() -> None:
    unknown = Article("x", "test", "text", "Lorem ipsum dolor sit amet.", language="xx")
    assert profile_of(unknown, SETTINGS, NOW).terms == ()
    japanese = Article("j", "test", "text", "東京で地震が発生しました。", language="ja")
    assert profile_of(japanese, SETTINGS, NOW).terms == ()
    french = Article("f", "test", "text", "Le président Macron a reçu le chancelier à Paris.",
                     language="fr")
    assert "macron" in profile_of(french, SETTINGS, NOW).terms


def test_only_articles_within_the_window_are_compared() -> None:
    nepal = profile_of(article(QUAKE_NEPAL, "n1"), SETTINGS, NOW)
    again = profile_of(article(QUAKE_NEPAL_AGAIN, "n2"), SETTINGS, NOW + timedelta(days=2))
    later = profile_of(article(QUAKE_NEPAL_AGAIN, "n3"), SETTINGS, NOW + timedelta(days=4))
    shared = set(nepal.keys(SETTINGS.key_terms)) & set(again.keys(SETTINGS.key_terms))
    links = [link for term in shared
             for link in block_links(term, [nepal, again, later], SETTINGS)]
    pairs = [(link.article_id, link.other_id) for link in links]
    assert len(pairs) == len(set(pairs))  # each pair scored in one block only
    assert ("n2", "n1") in pairs and ("n1", "n2") in pairs  # two days apart: compared
    assert not {("n3", "n1"), ("n1", "n3")} & set(pairs)  # four days apart: never compared
    # a period is as long as the window; an article looks up its own and both neighbours
    assert period_of(NOW + timedelta(days=3), SETTINGS) == period_of(NOW, SETTINGS) + 1


def test_a_key_too_common_is_not_compared_under_and_is_counted() -> None:
    profiles = [profile_of(article(QUAKE_NEPAL, f"n{i}"), SETTINGS, NOW) for i in range(3)]
    keys = profiles[0].keys(SETTINGS.key_terms)
    small = ScoreBlocks(replace(SETTINGS, max_block=3))
    assert len([link for term in keys for link in small.process((term, profiles))]) == 6
    tight = ScoreBlocks(replace(SETTINGS, max_block=2))
    before = metrics.local_tally()[KEYS_TOO_COMMON]
    assert [link for term in keys for link in tight.process((term, profiles))] == []
    assert metrics.local_tally()[KEYS_TOO_COMMON] == before + len(keys)


def test_a_link_must_be_near_the_candidates_own_best() -> None:
    weak_fresh = Link("a", "c", 0.3, True)
    strong_fresh = Link("b", "c", 0.5, True)
    earlier = Link("a", "e", 0.3, False, other_best=0.7)
    kept = list(strong_enough(("c", {"links": [weak_fresh, strong_fresh], "best": [0.8]}), 0.5))
    assert kept == [strong_fresh]  # 0.3 < 0.5 x 0.8: c's own coverage is far closer
    assert list(strong_enough(("e", {"links": [earlier], "best": []}), 0.5)) == []
    assert list(strong_enough(("e", {"links": [earlier], "best": []}), 0.4)) == [earlier]


def test_links_unite_into_components_however_they_are_split() -> None:
    unite = UniteLinks()
    left = unite.add_input(unite.add_input(unite.create_accumulator(), ("a", "b")), ("c", "d"))
    right = unite.add_input(unite.create_accumulator(), ("b", "c"))
    other = unite.add_input(unite.create_accumulator(), ("x", "y"))
    nodes = dict(unite.extract_output(unite.merge_accumulators([left, right, other])))
    assert nodes["a"] == nodes["b"] == nodes["c"] == nodes["d"] != nodes["x"] == nodes["y"]


def test_a_report_of_two_events_does_not_chain_them_into_one_story() -> None:
    """Links chain (the round-up links to both quakes' reports), centroids do not: the
    round-up joins the event it is closer to, Chile stays a story of its own."""
    roundup = ("Two earthquakes in a week: Nepal and Chile\n\nThe magnitude 5.9 earthquake in "
               "Jajarkot killed 38 people in Ramidanda and Chiuri. Days earlier a magnitude 7.1 "
               "earthquake near Antofagasta damaged the Escondida copper mine.")
    texts = {"n1": QUAKE_NEPAL, "n2": QUAKE_NEPAL_AGAIN, "c1": QUAKE_CHILE, "r": roundup}
    assert min(similarity(roundup, QUAKE_NEPAL), similarity(roundup, QUAKE_CHILE)) >= 0.4
    members = [Member(profile_of(article(text, name), SETTINGS, NOW), Counter(), ())
               for name, text in texts.items()]
    assignments = list(assign({"members": members, "states": []}, SETTINGS))
    assert {tuple(a for a, _ in assignment.members) for assignment in assignments} == {
        ("n1", "n2", "r"), ("c1",)}
    # each member's similarity: the centroid similarity at which it joined; none alone
    joined = dict(pair for assignment in assignments for pair in assignment.members)
    assert joined["c1"] is None
    assert all(joined[name] >= SETTINGS.threshold for name in ("n1", "n2", "r"))


def latest(output: Path, dataset: str, key: str, time: str) -> dict[str, dict]:
    """{key: the dataset's latest row for it (by `time`)}."""
    return {row[key]: row for row in sorted(read_dataset(output, dataset),
                                            key=lambda r: r[time])}


def current(output: Path) -> dict[str, str]:
    """{input file name: its article's current story}."""
    members = latest(output, "story_members", "article_id", "assigned_at")
    return {Path(a["source"]).name: members[a["article_id"]]["story_id"]
            for a in read_dataset(output, "articles")}


def latest_stories(output: Path) -> dict[str, dict]:
    return latest(output, "stories", "story_id", "run_time")


def run(output: Path, folder: Path, files: dict[str, str]) -> None:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    assert cli.main(["run", "--input", f"{folder}/*.txt", "--output", str(output)]) == 0


@pytest.mark.slow
def test_the_seeds_are_one_story_growing_across_runs(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out"
    first, second, third = seeds_in_three_runs(tmp_path)
    assert cli.main(["run", "--input", f"{first}/*.txt", "--output", str(output)]) == 0
    [story] = set(current(output).values())
    assert latest_stories(output)[story]["article_count"] == 2
    for folder in (second, third):
        assert cli.main(["run", "--input", f"{folder}/*.txt", "--output", str(output)]) == 0
    capsys.readouterr()
    stories = current(output)
    assert sorted(stories) == sorted(p.name for p in SEEDS.glob("*.txt"))
    assert set(stories.values()) == {story}  # the first run's id, kept
    row = latest_stories(output)[story]
    assert (row["article_count"], row["outlet_count"], row["merged_into"]) == (5, 5, None)
    assert "Hamas" in row["top_entities"] and row["top_topic"] == "politics"
    assert row["headline"] in {a["title"] for a in read_dataset(output, "articles")}
    assert len(read_dataset(output, "stories")) == 3  # one row per run that touched it
    assert all(a["duplicate_of"] is None for a in read_dataset(output, "articles"))


@pytest.mark.slow
def test_lookalike_events_stay_apart_and_a_merge_keeps_the_older_id(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out"
    run(output, tmp_path / "r1", {"nepal.txt": QUAKE_NEPAL, "chile.txt": QUAKE_CHILE,
                                  "floods.txt": FLOODS})
    run(output, tmp_path / "r2", {"nepal_again.txt": QUAKE_NEPAL_AGAIN, "horse.txt": HORSE})
    stories = current(output)
    assert stories["nepal_again.txt"] == stories["nepal.txt"] != stories["chile.txt"]
    assert stories["horse.txt"] != stories["floods.txt"]
    # one report of both the floods and the rescue: the two stories are one
    both = FLOODS + "\n" + HORSE.partition("\n\n")[2]
    run(output, tmp_path / "r3", {"both.txt": both})
    capsys.readouterr()
    merged = current(output)
    assert merged["both.txt"] == merged["horse.txt"] == merged["floods.txt"] == \
        stories["floods.txt"]  # the older story's id survives
    rows = latest_stories(output)
    assert rows[stories["horse.txt"]]["merged_into"] == stories["floods.txt"]
    assert rows[stories["floods.txt"]]["article_count"] == 3
    assert merged["nepal.txt"] == stories["nepal.txt"] != merged["chile.txt"]


@pytest.mark.slow
def test_an_events_first_report_alone_in_its_run_joins_the_later_reports(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The later reports are far closer to each other than to the first one, which each of
    them ranks third: they link to it as a lone earlier article, and its story is theirs."""
    later = [QUAKE_NEPAL_AGAIN, *QUAKE_NEPAL_REWRITES]
    first_to_later = [similarity(QUAKE_NEPAL_FIRST, text) for text in later]
    among_later = [similarity(one, other) for i, one in enumerate(later) for other in later[i + 1:]]
    assert SETTINGS.threshold < max(first_to_later) < min(among_later)
    output = tmp_path / "out"
    run(output, tmp_path / "r1", {"first.txt": QUAKE_NEPAL_FIRST, "chile.txt": QUAKE_CHILE})
    first_story = current(output)["first.txt"]
    run(output, tmp_path / "r2", {f"later{i}.txt": text for i, text in enumerate(later)})
    capsys.readouterr()
    stories = current(output)
    assert {stories[f"later{i}.txt"] for i in range(3)} == {first_story}  # its id, kept
    assert stories["chile.txt"] != first_story
    assert latest_stories(output)[first_story]["article_count"] == 4


@pytest.mark.slow
def test_a_report_whose_candidates_have_closer_company_keeps_its_strongest_link(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In one run: the first report is under half as similar to each later report as the
    later ones are to each other, so the relative-strength check drops its links, and the later
    ones link to each other; it keeps its strongest link, and the four are one story."""
    later = [QUAKE_NEPAL_AGAIN, *QUAKE_NEPAL_REWRITES]
    among_later = [similarity(one, other) for i, one in enumerate(later) for other in later[i + 1:]]
    assert all(SETTINGS.threshold <= similarity(QUAKE_NEPAL_FIRST, text)
               < SETTINGS.relative_strength * min(among_later) for text in later)
    output = tmp_path / "out"
    run(output, tmp_path / "r1", {"first.txt": QUAKE_NEPAL_FIRST, "chile.txt": QUAKE_CHILE,
                                  **{f"later{i}.txt": text for i, text in enumerate(later)}})
    capsys.readouterr()
    stories = current(output)
    assert {stories[f"later{i}.txt"] for i in range(3)} == {stories["first.txt"]}
    assert stories["chile.txt"] != stories["first.txt"]
