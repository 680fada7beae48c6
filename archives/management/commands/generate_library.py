"""Fill the database with a synthetic library for benchmarks: no files, realistic tags.

Tag popularity follows Zipf's law (a few tags on most archives, a long tail on a
handful each): thousands of artists and groups, tens of thousands of tags overall,
1 to 20 tags per archive (about 15 on average: 1.5 million links at 100,000), a
`date_added` on every one. Rows are bulk-inserted with every search column filled
in, and marked `synthetic` so that the missing-file check never hides them.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection
from django.db import transaction
from tqdm import tqdm

from archives.models import Archive
from archives.models import ArchiveSortValue
from archives.models import ArchiveTag
from archives.models import ReadingState
from archives.models import Tag
from archives.search.cache import invalidate_search_cache
from archives.search.keys import is_untagged
from archives.search.keys import namespace_sort_values
from archives.search.keys import title_keys
from archives.tags import index_form
from archives.tags import split_namespace

SYLLABLES = [
    "ka",
    "ki",
    "ku",
    "ke",
    "ko",
    "sa",
    "shi",
    "su",
    "se",
    "so",
    "ta",
    "chi",
    "tsu",
    "te",
    "to",
    "na",
    "ni",
    "nu",
    "ne",
    "no",
    "ha",
    "hi",
    "fu",
    "he",
    "ho",
    "ma",
    "mi",
    "mu",
    "me",
    "mo",
    "ya",
    "yu",
    "yo",
    "ra",
    "ri",
    "ru",
    "re",
    "ro",
    "wa",
    "n",
]
WORDS = [
    "love",
    "summer",
    "night",
    "school",
    "story",
    "memories",
    "sister",
    "friend",
    "secret",
    "princess",
    "dragon",
    "sky",
    "sea",
    "city",
    "dream",
    "rain",
]
LANGUAGES = ["english", "japanese", "chinese", "korean", "spanish", "french", "german", "russian"]
MISC_NAMESPACES = ["female", "male", "other", "character", "parody", "series", "", ""]


def _name(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables))


def _zipf_cumulative(n: int, s: float = 1.07) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank**s) for rank in range(1, n + 1)))


class Command(BaseCommand):
    help = "Create N synthetic archives directly in the database (no files) for benchmarks."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("count", type=int)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch", type=int, default=5000)
        parser.add_argument("--tags", type=int, default=30000, help="distinct non-artist tags")

    def handle(self, *args: Any, count: int, seed: int, batch: int, tags: int, **options: Any) -> None:
        rng = random.Random(seed)
        n_artists = max(count // 25, 50)
        artists = [f"artist:{_name(rng, 2)} {_name(rng, 3)}" for _ in range(n_artists)]
        groups = [f"group:{_name(rng, 3)}" for _ in range(max(n_artists // 3, 10))]
        misc = []
        for i in range(tags):
            ns = MISC_NAMESPACES[i % len(MISC_NAMESPACES)]
            value = f"{_name(rng, 2)} {rng.choice(WORDS)}" if i % 3 else _name(rng, 3)
            misc.append(f"{ns}:{value}" if ns else value)
        artist_cum, group_cum, misc_cum = (
            _zipf_cumulative(len(artists)),
            _zipf_cumulative(len(groups)),
            _zipf_cumulative(len(misc)),
        )
        tag_ids: dict[str, int] = {}
        now = int(time.time())
        started = time.monotonic()
        with tqdm(total=count, unit="archive", disable=options.get("verbosity", 1) == 0) as bar:
            for offset in range(0, count, batch):
                size = min(batch, count - offset)
                rows = []
                for i in range(offset, offset + size):
                    tag_list = [rng.choices(artists, cum_weights=artist_cum)[0]]
                    if rng.random() < 0.4:
                        tag_list.append(rng.choices(groups, cum_weights=group_cum)[0])
                    if rng.random() < 0.8:
                        tag_list.append(f"language:{rng.choices(LANGUAGES, weights=[50, 30, 10, 4, 2, 2, 1, 1])[0]}")
                    # With the Zipfian repeats dropped below, about 15 tags per archive.
                    extra = min(rng.randrange(7, 18) + int(rng.paretovariate(1.5)), 18)
                    tag_list += rng.choices(misc, cum_weights=misc_cum, k=extra)
                    tag_list.append(f"date_added:{now - rng.randrange(0, 5 * 365 * 86400)}")
                    tag_list = list(dict.fromkeys(tag_list))[:20]
                    if rng.random() < 0.03:
                        tag_list = [t for t in tag_list if t.startswith(("artist:", "date_added:"))]
                    title = f"{rng.choice(WORDS).title()} {_name(rng, 3).title()} {rng.randrange(1, 300)}"
                    rows.append((hashlib.sha1(f"{seed}:{i}".encode()).hexdigest(), title, tag_list))
                self._insert(rows, tag_ids, rng)
                bar.update(size)
        invalidate_search_cache()
        if connection.vendor == "postgresql":
            # Fresh planner statistics and visibility map, as autovacuum would leave them
            # some minutes later: without them, counts read every heap row.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        self.stdout.write(f"{count} archives in {time.monotonic() - started:.1f} s ({len(tag_ids)} distinct tags)")

    def _insert(self, rows: list[tuple[str, str, list[str]]], tag_ids: dict[str, int], rng: random.Random) -> None:
        names = {index_form(t) for _, _, tag_list in rows for t in tag_list} - tag_ids.keys()
        with transaction.atomic():
            if names:
                Tag.objects.bulk_create(
                    [Tag(name=n, namespace=split_namespace(n)[0]) for n in names],
                    ignore_conflicts=True,
                    batch_size=2000,
                )
                for start in range(0, len(names), 900):
                    chunk = list(names)[start : start + 900]
                    tag_ids.update(Tag.objects.filter(name__in=chunk).values_list("name", "id"))
            archives, links, values, states = [], [], [], []
            for arcid, title, tag_list in rows:
                ids = sorted({tag_ids[index_form(t)] for t in tag_list})
                sort, lower = title_keys(title)
                archives.append(
                    Archive(
                        id=arcid,
                        title=title,
                        filename=title,
                        extension="cbz",
                        file=f"synthetic/{arcid}.cbz",
                        format="zip",
                        tags=",".join(tag_list),
                        pagecount=rng.randrange(8, 240),
                        size=rng.randrange(2, 400) * 1_000_000,
                        synthetic=True,
                        untagged=is_untagged(tag_list),
                        tag_ids=ids,
                        title_sort=sort,
                        title_lower=lower,
                    )
                )
                links += [ArchiveTag(archive_id=arcid, tag_id=i) for i in ids]
                values += [
                    ArchiveSortValue(archive_id=arcid, namespace=ns, value_sort=v)
                    for ns, v in namespace_sort_values(tag_list).items()
                ]
                read = rng.random() < 0.15
                states.append(
                    ReadingState(
                        archive_id=arcid,
                        isnew=rng.random() < 0.1,
                        progress=rng.randrange(1, 240) if read else 0,
                        lastreadtime=int(time.time()) - rng.randrange(0, 10**7) if read else 0,
                    )
                )
            # bulk_create skips save(), so the search columns were filled in above.
            Archive.objects.bulk_create(archives, batch_size=1000)
            ArchiveTag.objects.bulk_create(links, batch_size=5000)
            ArchiveSortValue.objects.bulk_create(values, batch_size=5000)
            ReadingState.objects.bulk_create(states, batch_size=5000)
