"""SQL for one search: which archives and tanks match, how many, in which order.

Each token is resolved against the small table of distinct tags first (a pattern
over tag names), then archives are found through an index: the GIN-indexed tag-id
array on PostgreSQL, the ArchiveTag (tag, archive) index on SQLite. Exclusions are
NOT of the same predicate (never `NOT IN (subquery)` on PostgreSQL). Sorting uses
the precomputed natural-sort key columns. Tanks are few, so they are matched in SQL
but merged into the archive order in Python.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from django.db import connection

from archives.models import Archive
from archives.models import ArchiveSortValue
from archives.models import ArchiveTag
from archives.models import Category
from archives.models import CategoryItem
from archives.models import ReadingState
from archives.models import Tag
from archives.models import Tankoubon
from archives.models import TankoubonArchive
from archives.models import TankoubonTag
from archives.search.parser import Token
from archives.search.parser import parse_filter

A = Archive._meta.db_table
AT = ArchiveTag._meta.db_table
T = Tag._meta.db_table
RS = ReadingState._meta.db_table
SV = ArchiveSortValue._meta.db_table
CI = CategoryItem._meta.db_table
TK = Tankoubon._meta.db_table
TA = TankoubonArchive._meta.db_table
TT = TankoubonTag._meta.db_table

# Above this many matching tags, PostgreSQL searches the link table instead of the array.
GIN_MAX_TAGS = 200
_OPERATORS = {"=": "=", ">": ">", "<": "<", ">=": ">=", "<=": "<="}


@dataclass(frozen=True)
class SearchParams:
    filter: str = ""
    category: str = ""
    sortby: str = "title"
    desc: bool = False
    newonly: bool = False
    untaggedonly: bool = False
    hidecompleted: bool = False
    grouped: bool = True

    @property
    def sort(self) -> str:
        return (self.sortby or "title").strip().lower() or "title"


@dataclass
class Where:
    sql: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, sql: str, *params: Any) -> None:
        self.sql.append(sql)
        self.params.extend(params)

    def render(self) -> str:
        return " AND ".join(self.sql) if self.sql else "1=1"


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _collate(expr: str) -> str:
    return f'{expr} COLLATE "C"' if _postgres() else expr


def _pattern(parts: list[str]) -> tuple[str, str]:
    """(operator, pattern) matching the token parts on this database, case-sensitively
    (both sides are already lower-cased)."""
    if _postgres():
        out = []
        for p in parts:
            out.append("%" if p == "*" else "_" if p == "?" else p.replace("\\", "\\\\"))
        return "LIKE", "".join(out)
    out = []
    for p in parts:
        out.append(p if p in ("*", "?") else p.replace("[", "[[]"))
    return "GLOB", "".join(out)


@dataclass
class TokenPlan:
    token: Token
    tag_sql: str  # SELECT id FROM tag WHERE …
    tag_params: list[Any]
    title_op: str
    title_pattern: str
    tag_count: int = 0


def plan_token(token: Token) -> TokenPlan:
    """Resolve the tag side of a token: an exact token uses the tag that equals it if
    there is one, and otherwise falls back to the fuzzy rule, as LANraragi does."""
    tag_sql, tag_params = "", []
    if token.exact and Tag.objects.filter(name=token.literal).exists():
        tag_sql, tag_params = f"SELECT id FROM {T} WHERE name = %s", [token.literal]
    else:
        # With a namespace the tag must begin with the token; without, contain it.
        op, pattern = _pattern(token.glob(prefix=not token.namespaced, suffix=True))
        tag_sql, tag_params = f"SELECT id FROM {T} WHERE name {op} %s", [pattern]
    title_op, title_pattern = _pattern(token.glob(prefix=not token.exact, suffix=not token.exact))
    tag_count = 0
    if _postgres():
        tag_count = int(_fetch(f"SELECT COUNT(*) FROM ({tag_sql}) matched", tag_params)[0][0])
    return TokenPlan(token, tag_sql, tag_params, title_op, title_pattern, tag_count)


def _archive_token_sql(plan: TokenPlan) -> tuple[str, list[Any]]:
    if _postgres() and plan.tag_count <= GIN_MAX_TAGS:
        # The column is integer[] (half the size of bigint[] in the GIN index).
        tag = f"a.tag_ids && ARRAY({plan.tag_sql.replace('SELECT id ', 'SELECT id::integer ', 1)})"
    elif _postgres():
        # A GIN overlap with thousands of keys is slower than a semi-join on the links.
        tag = f"EXISTS (SELECT 1 FROM {AT} at WHERE at.archive_id = a.id AND at.tag_id IN ({plan.tag_sql}))"
    else:
        tag = f"a.id IN (SELECT archive_id FROM {AT} WHERE tag_id IN ({plan.tag_sql}))"
    parts = [tag, f"a.title_lower {plan.title_op} %s"]
    params: list[Any] = [*plan.tag_params, plan.title_pattern]
    numeric = plan.token.numeric
    if numeric is not None:
        column, op, value = numeric
        expr = "a.pagecount" if column == "pagecount" else "COALESCE(rs.progress, 0)"
        parts.append(f"{expr} {_OPERATORS[op]} %s")
        params.append(value)
    return "(" + " OR ".join(parts) + ")", params


def _tank_token_sql(plan: TokenPlan) -> tuple[str, list[Any]]:
    # A tank is searched by its own tags plus its members' tags, and by its name.
    sql = (
        f"(t.id IN (SELECT tank_id FROM {TT} WHERE tag_id IN ({plan.tag_sql}))"
        f" OR t.id IN (SELECT m.tank_id FROM {TA} m JOIN {AT} at ON at.archive_id = m.archive_id"
        f" WHERE at.tag_id IN ({plan.tag_sql}))"
        " OR t.title_lower {op} %s)"
    ).format(op=plan.title_op)
    return sql, [*plan.tag_params, *plan.tag_params, plan.title_pattern]


@dataclass
class Query:
    """A search reduced to SQL conditions over archives and over tanks."""

    params: SearchParams
    archives: Where
    tanks: Where | None  # None: no tank can match
    needs_state: bool
    empty: bool = False


def build_query(params: SearchParams) -> Query:
    tokens = parse_filter(params.filter)
    archives, tanks = Where(), Where()
    archives.add("a.missing = %s", False)
    tanks_possible = params.grouped and not params.untaggedonly
    empty = False
    if params.grouped:
        archives.add("a.in_tank = %s", False)
    tanks.add(
        f"EXISTS (SELECT 1 FROM {TA} m JOIN {A} ma ON ma.id = m.archive_id WHERE m.tank_id = t.id AND ma.missing = %s)",
        False,
    )
    if params.category:
        category = Category.objects.filter(pk=params.category).first()
        if category is None:
            empty = True  # LANraragi ignores an unknown category; an empty result is saner
        elif category.search:
            tokens += parse_filter(category.search)
        else:
            archives.add(
                f"a.id IN (SELECT archive_id FROM {CI} WHERE category_id = %s AND archive_id IS NOT NULL)",
                category.pk,
            )
            tanks.add(f"t.id IN (SELECT tank_id FROM {CI} WHERE category_id = %s AND tank_id IS NOT NULL)", category.pk)
    needs_state = params.newonly or params.hidecompleted or params.sort == "lastread"
    if params.untaggedonly:
        archives.add("a.untagged = %s", True)
    if params.newonly:
        archives.add("(rs.isnew IS NULL OR rs.isnew = %s)", True)
        tanks.add(
            f"EXISTS (SELECT 1 FROM {TA} m LEFT JOIN {RS} mrs ON mrs.archive_id = m.archive_id AND mrs.user_id IS NULL"
            " WHERE m.tank_id = t.id AND (mrs.isnew IS NULL OR mrs.isnew = %s))",
            True,
        )
    if params.hidecompleted:
        # Completed: progress/pagecount > 0.85, in integers. Tanks are never hidden.
        archives.add("NOT (a.pagecount > 0 AND COALESCE(rs.progress, 0) * 100 > a.pagecount * 85)")
    if params.sort == "lastread":
        archives.add("COALESCE(rs.lastreadtime, 0) > 0")
        tanks.add(f"({_tank_lastread_sql()}) > 0")
    for token in tokens:
        plan = plan_token(token)
        if token.numeric is not None:
            needs_state = needs_state or token.numeric[0] == "progress"
        sql, sql_params = _archive_token_sql(plan)
        archives.add(f"NOT {sql}" if token.negated else sql, *sql_params)
        if token.numeric is not None and not token.negated:
            tanks_possible = False  # page and read counts never match a tank
        elif token.numeric is None:
            tsql, tparams = _tank_token_sql(plan)
            tanks.add(f"NOT {tsql}" if token.negated else tsql, *tparams)
    return Query(params, archives, tanks if tanks_possible else None, needs_state, empty)


def _tank_lastread_sql() -> str:
    return (
        f"SELECT COALESCE(MAX(mrs.lastreadtime), 0) FROM {TA} m JOIN {RS} mrs"
        " ON mrs.archive_id = m.archive_id AND mrs.user_id IS NULL WHERE m.tank_id = t.id"
    )


def _archive_from(query: Query, *, sort_join: bool) -> tuple[str, list[Any]]:
    sql = f"FROM {A} a"
    params: list[Any] = []
    if query.needs_state:
        sql += f" LEFT JOIN {RS} rs ON rs.archive_id = a.id AND rs.user_id IS NULL"
    sort = query.params.sort
    if sort_join and sort not in ("title", "lastread"):
        sql += f" LEFT JOIN {SV} sv ON sv.archive_id = a.id AND sv.namespace = %s"
        params.append(sort)
    return sql, params


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def count_archives(query: Query) -> int:
    if query.empty:
        return 0
    from_sql, from_params = _archive_from(query, sort_join=False)
    rows = _fetch(f"SELECT COUNT(*) {from_sql} WHERE {query.archives.render()}", from_params + query.archives.params)
    return int(rows[0][0])


# --- ordering -------------------------------------------------------------------------
#
# Every item gets a sort tuple (grp, k1, k2, id) compared the way the SQL ORDER BY
# compares, so Python can merge tanks into the archive stream. `desc` reverses the
# order of items with a value; items without a namespace value (grp 1) stay in title
# order at the end, as in LANraragi.


class _Rev:
    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: _Rev) -> bool:
        return other.v < self.v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Rev) and other.v == self.v


def _order_sql(query: Query) -> tuple[str, str]:
    """(select columns for the key, ORDER BY clause) for archives."""
    sort, desc = query.params.sort, query.params.desc
    d = "DESC" if desc else "ASC"
    title = _collate("a.title_sort")
    if sort == "title":
        return "a.title_sort, a.title_sort", f"{title} {d}, a.id {d}"
    if sort == "lastread":
        # Newest first unless `desc`, which LANraragi inverts for this key.
        d = "ASC" if desc else "DESC"
        return "COALESCE(rs.lastreadtime, 0), a.title_sort", f"COALESCE(rs.lastreadtime, 0) {d}, {title} {d}, a.id {d}"
    value = _collate("sv.value_sort")
    has = "sv.value_sort IS NOT NULL"
    return (
        "sv.value_sort, a.title_sort",
        f"CASE WHEN {has} THEN 0 ELSE 1 END, {value} {d}, "
        f"CASE WHEN {has} THEN {title} END {d}, CASE WHEN {has} THEN a.id END {d}, {title} ASC, a.id ASC",
    )


def sort_tuple(params: SearchParams, k1: Any, title_sort: str, item_id: str) -> tuple[Any, ...]:
    sort, desc = params.sort, params.desc
    if sort == "title":
        key: tuple[Any, ...] = (0, title_sort, item_id)
        return (0, *(_Rev(k) for k in key[1:])) if desc else key
    if sort == "lastread":
        newest_first = not desc
        return (0, -k1, _Rev(title_sort), _Rev(item_id)) if newest_first else (0, k1, title_sort, item_id)
    if k1 is None:
        return (1, "", title_sort, item_id)
    if desc:
        return (0, _Rev(k1), _Rev(title_sort), _Rev(item_id))
    return (0, k1, title_sort, item_id)


def archive_page_rows(query: Query, *, offset: int, limit: int | None) -> list[tuple[str, tuple[Any, ...]]]:
    """[(id, sort tuple)] of matching archives in order, from `offset`, at most `limit`."""
    if query.empty:
        return []
    key_cols, order = _order_sql(query)
    from_sql, from_params = _archive_from(query, sort_join=True)
    where = query.archives.render()
    if not _postgres():
        # Unary + keeps SQLite from picking the flags index (nearly every row passes it)
        # over the title-ordered covering index that can stop after one page.
        where = where.replace("a.missing =", "+a.missing =").replace("a.in_tank =", "+a.in_tank =")
    sql = f"SELECT a.id, {key_cols} {from_sql} WHERE {where} ORDER BY {order}"
    params = from_params + query.archives.params
    if limit is not None:
        sql += " LIMIT %s OFFSET %s"
        params += [limit, offset]
    elif offset:
        sql += " LIMIT -1 OFFSET %s" if not _postgres() else " OFFSET %s"
        params.append(offset)
    return [(row[0], sort_tuple(query.params, row[1], row[2], row[0])) for row in _fetch(sql, params)]


def matching_tanks(query: Query) -> list[tuple[str, tuple[Any, ...]]]:
    """[(tank id, sort tuple)] of matching tanks, sorted."""
    if query.empty or query.tanks is None:
        return []
    rows = _fetch(
        f"SELECT t.id, t.title_sort, ({_tank_lastread_sql()}) FROM {TK} t WHERE {query.tanks.render()}",
        query.tanks.params,
    )
    if not rows:
        return []
    sort = query.params.sort
    values: dict[str, Any] = {}
    if sort not in ("title", "lastread"):
        from archives.tankoubons import tank_namespace_sort_values

        values = tank_namespace_sort_values([r[0] for r in rows], sort)
    out = []
    for tank_id, title_sort, lastread in rows:
        k1 = lastread if sort == "lastread" else values.get(tank_id)
        out.append((tank_id, sort_tuple(query.params, k1, title_sort, tank_id)))
    out.sort(key=lambda item: item[1])
    return out


def ordered_ids(query: Query, *, start: int, size: int | None) -> list[str]:
    """Ids of the page [start, start+size) of the merged order (size None: to the end)."""
    tanks = matching_tanks(query)
    if not tanks:
        return [i for i, _ in archive_page_rows(query, offset=start, limit=size)]
    end = None if size is None else start + size
    archives = archive_page_rows(query, offset=0, limit=end)
    merged: Iterator[tuple[str, tuple[Any, ...]]] = heapq.merge(archives, tanks, key=lambda item: item[1])
    out = []
    for index, (item_id, _) in enumerate(merged):
        if end is not None and index >= end:
            break
        if index >= start:
            out.append(item_id)
    return out


def count_tanks(query: Query) -> int:
    if query.empty or query.tanks is None:
        return 0
    rows = _fetch(f"SELECT COUNT(*) FROM {TK} t WHERE {query.tanks.render()}", query.tanks.params)
    return int(rows[0][0])


def random_ids(query: Query, count: int) -> list[str]:
    """`count` distinct items picked uniformly from every match (archives and tanks)."""
    import random

    if count <= 0 or query.empty:
        return []
    tank_ids = [i for i, _ in matching_tanks(query)]
    from_sql, from_params = _archive_from(query, sort_join=False)
    picked = [
        row[0]
        for row in _fetch(
            f"SELECT a.id {from_sql} WHERE {query.archives.render()} ORDER BY RANDOM() LIMIT %s",
            [*from_params, *query.archives.params, count],
        )
    ]
    if not tank_ids:
        return picked
    total = count_archives(query) + len(tank_ids)
    # How many of `count` uniform picks from archives+tanks fall on tanks.
    draws = random.sample(range(total), min(count, total))
    n_tanks = sum(1 for d in draws if d < len(tank_ids))
    chosen = random.sample(tank_ids, n_tanks) + picked[: len(draws) - n_tanks]
    random.shuffle(chosen)
    return chosen


def parse_tokens(raw: str) -> list[Token]:
    return parse_filter(raw)
