"""Search reads: one page of ordered ids (cached per generation) and their items."""

from __future__ import annotations

from dataclasses import asdict
from dataclasses import dataclass

from archives.search import query as q
from archives.search.cache import cached
from archives.search.cache import search_generation
from archives.search.query import SearchParams
from archives.selectors import ArchiveItem
from archives.selectors import archive_items
from archives.tankoubons import TankItem
from archives.tankoubons import tank_items


@dataclass(frozen=True)
class SearchPage:
    ids: list[str]
    filtered: int
    total: int


def records_total(*, grouped: bool, generation: int | None = None) -> int:
    """Tanks plus archives in no tank when grouped, else every archive."""

    def compute() -> int:
        base = q.build_query(SearchParams(grouped=grouped))
        return q.count_archives(base) + q.count_tanks(base)

    return cached({"total": grouped}, compute, generation=generation)


def _cacheable(params: SearchParams) -> bool:
    # lastread orders change with every page turn, which does not bump the generation.
    return params.sort != "lastread"


def search_page(params: SearchParams, *, start: int, pagesize: int) -> SearchPage:
    """The page at offset `start` (all from there when start is -1, i.e. everything)."""
    generation = search_generation()
    if start == -1:
        offset, size = 0, None
    else:
        offset, size = max(start, 0), pagesize

    def compute() -> tuple[list[str], int]:
        query = q.build_query(params)
        filtered = q.count_archives(query) + q.count_tanks(query)
        ids = q.ordered_ids(query, start=offset, size=size) if offset < filtered else []
        return ids, filtered

    if _cacheable(params):
        ids, filtered = cached({"page": asdict(params), "offset": offset, "size": size}, compute, generation=generation)
    else:
        ids, filtered = compute()
    return SearchPage(ids=ids, filtered=filtered, total=records_total(grouped=params.grouped, generation=generation))


def random_page(params: SearchParams, *, count: int) -> list[str]:
    return q.random_ids(q.build_query(params), count)


def search_items(ids: list[str]) -> list[ArchiveItem | TankItem]:
    """The archives and tanks of `ids`, in their order; one query per kind."""
    tank_ids = [i for i in ids if i.startswith("TANK_")]
    arcids = [i for i in ids if not i.startswith("TANK_")]
    archives = archive_items(arcids, present_only=False) if arcids else {}
    tanks = tank_items(tank_ids) if tank_ids else {}
    out: list[ArchiveItem | TankItem] = []
    for item_id in ids:
        if item_id in archives:
            out.append(archives[item_id])
        elif item_id in tanks:
            out.append(tanks[item_id])
    return out
