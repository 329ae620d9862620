"""Near copies on the BBC texts: the pairs newsbeam links (estimated Jaccard of body shingles at
the default threshold, LSH candidates) against bbc_duplicate_groups.tsv (exact duplicates and
same-headline pairs). That file misses some re-headlined copies, so the linked pairs it does not
list are written to benchmarks/results/nearcopies-unlisted.tsv, to be read.

    python -m benchmarks.nearcopies
"""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import date

from benchmarks.corpora import bbc_duplicate_groups, bbc_texts, pairs_within
from benchmarks.extraction import RESULTS
from pipeline.config import load_config, run_settings
from transforms.near_copies import band_keys, signature, similarity


def main() -> int:
    settings = run_settings(load_config()).near_copies
    bodies, headlines = {}, {}
    for name, text in bbc_texts().items():
        headlines[name], _, bodies[name] = text.strip().partition("\n")
    packed = {name: signature(body, settings).tobytes() for name, body in bodies.items()}
    buckets = defaultdict(list)
    for name, sig in packed.items():
        for key in band_keys(sig, settings.bands):
            buckets[key].append(name)
    linked = {pair for pair in pairs_within(buckets.values())
              if similarity(packed[pair[0]], packed[pair[1]]) >= settings.threshold}
    groups = bbc_duplicate_groups()
    gold = pairs_within(groups.values())
    by_kind = defaultdict(set)
    for (_, kind), names in groups.items():
        by_kind[kind] |= pairs_within([names])
    found = linked & gold
    print(f"BBC near copies, {date.today()}: {len(bodies)} texts, threshold "
          f"{settings.threshold}, {settings.permutations} permutations in {settings.bands} bands")
    print(f"linked pairs {len(linked)}, listed pairs {len(gold)}, listed and linked {len(found)}")
    for kind, pairs in sorted(by_kind.items()):
        print(f"  recall on {kind} pairs: {len(pairs & linked)}/{len(pairs)} "
              f"= {len(pairs & linked) / len(pairs):.3f}")
    print(f"precision against the list: {len(found) / max(1, len(linked)):.3f}; recall "
          f"{len(found) / max(1, len(gold)):.3f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    unlisted = RESULTS / "nearcopies-unlisted.tsv"
    with unlisted.open("w", encoding="utf-8") as out:
        out.write("one\tother\tsimilarity\tone headline\tother headline\n")
        for one, other in sorted(linked - gold):
            out.write(f"{one}\t{other}\t{similarity(packed[one], packed[other]):.2f}\t"
                      f"{headlines[one]}\t{headlines[other]}\n")
    print(f"linked but not listed: {len(linked - gold)} pairs, in {unlisted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
