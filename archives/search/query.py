"""SQL for one search: which archives and tanks match, how many, in which order.

Each token is resolved first, in Python: the ids of the tags it matches (a pattern
over the small table of distinct tags; a bare `namespace:` token instead stands for
every archive with a tag in that namespace), and the archives whose title matches
(one scan of a narrow title index). The archive side is then answered from indexes
without reading the wide archive rows where it can:

- counts start from the smallest positive token's links and probe the others by
  archive id; the base set (not missing, not in a tank) is applied as "not in the
  few hidden archives", so 40,000 matches are never joined to their archive rows.
  On SQLite, sets that are each one id-ordered index range (one tag, one namespace,
  a static category) are instead merged in one pass (INTERSECT / EXCEPT ... ORDER
  BY) when the smallest is a large part of the library;
- a page is either the matches sorted (when they are few) or a walk of the order's
  index (title, a namespace's values, last read time) that probes each row and
  stops after one page (on PostgreSQL, with the probes fenced off from hashing when
  the walk is expected to be short).

Exclusions are NOT of the same predicate (never `NOT IN (subquery)` over links on
PostgreSQL). Tanks are few, so they are matched in SQL but merged into the archive
order in Python.
"""

from __future__ import annotations

import heapq
import json
import re
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
    # The same conditions (same parameters) for an index walk that stops after a few
    # rows: on PostgreSQL their subqueries are fenced off from hashing (see _fence).
    walk_sql: list[str] = field(default_factory=list)

    def add(self, sql: str, *params: Any, walk: str | None = None) -> None:
        self.sql.append(sql)
        self.walk_sql.append(sql if walk is None else walk)
        self.params.extend(params)

    def render(self, *, walk: bool = False) -> str:
        parts = self.walk_sql if walk else self.sql
        return " AND ".join(parts) if parts else "1=1"


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
    # The matching tag ids; None when there are too many to list (the SQL is used then).
    tag_ids: list[int] | None = None
    # A bare `namespace:` token: the archives with any tag in it, from ArchiveSortValue.
    namespace: str | None = None
    # Archives (in any state) whose title matches; None when not listed (too many, or
    # not needed): then titles are matched in SQL.
    title_ids: list[str] | None = None

    @property
    def tag_count(self) -> int:
        return len(self.tag_ids) if self.tag_ids is not None else MAX_LISTED_TAGS + 1


# Past this many, a token's tags or title matches stay a subquery instead of a list.
# (Titles are a substring scan, done once per search; the list then serves every query.)
MAX_LISTED_TAGS = 5000
MAX_LISTED_TITLES = 20000
# PostgreSQL lists the ids of at most this many title matches in a token's members.
MEMBERS_TITLE_IDS_MAX = 1000
# A bare namespace: no wildcard, one colon, at the end (tags beginning with "female:"
# are exactly the tags whose namespace is "female").
_BARE_NAMESPACE = re.compile(r"[^:*%?_]+:")


def plan_token(token: Token) -> TokenPlan:
    """Resolve the tag side of a token: an exact token uses the tag that equals it if
    there is one, and otherwise falls back to the fuzzy rule, as LANraragi does."""
    # Tag names are unique: the exact tag's id, if it exists, is the whole list.
    exact_ids = list(Tag.objects.filter(name=token.literal).values_list("id", flat=True)[:1]) if token.exact else []
    exact_tag = bool(exact_ids)
    if exact_tag:
        tag_sql, tag_params = f"SELECT id FROM {T} WHERE name = %s", [token.literal]
    else:
        # With a namespace the tag must begin with the token; without, contain it.
        op, pattern = _pattern(token.glob(prefix=not token.namespaced, suffix=True))
        tag_sql, tag_params = f"SELECT id FROM {T} WHERE name {op} %s", [pattern]
    title_op, title_pattern = _pattern(token.glob(prefix=not token.exact, suffix=not token.exact))
    plan = TokenPlan(token, tag_sql, tag_params, title_op, title_pattern)
    if exact_tag:
        plan.tag_ids = exact_ids
    elif _BARE_NAMESPACE.fullmatch(token.text):
        plan.namespace = token.text[:-1]
    else:
        ids = [row[0] for row in _fetch(f"{tag_sql} LIMIT {MAX_LISTED_TAGS + 1}", tag_params)]
        plan.tag_ids = ids if len(ids) <= MAX_LISTED_TAGS else None
    return plan


def list_title_matches(plans: list[TokenPlan]) -> None:
    """Fill in `title_ids` of every plan with one pass over the titles (which no index
    orders by substring), so that a query of three tokens scans them once, not thrice."""
    if not plans:
        return
    conditions = [f"title_lower {p.title_op} %s" for p in plans]
    patterns = [p.title_pattern for p in plans]
    cap = MAX_LISTED_TITLES * len(plans) + 1
    flags = "".join(f", CASE WHEN {c} THEN 1 ELSE 0 END" for c in conditions)
    rows = _fetch(
        f"SELECT id{flags} FROM {A} WHERE {' OR '.join(conditions)} LIMIT {cap}",
        patterns + patterns,
    )
    if len(rows) == cap:
        return  # too many to list: the plans keep matching titles in SQL
    for i, plan in enumerate(plans, start=1):
        ids = [row[0] for row in rows if row[i]]
        plan.title_ids = ids if len(ids) <= MAX_LISTED_TITLES else None


def _int_list(ids: list[int]) -> str:
    # Inlined rather than bound: thousands of ids would pass SQLite's variable limit.
    return ",".join(str(int(i)) for i in ids)


def _fence(walk: bool) -> str:
    """Ends a probe's subquery. PostgreSQL plans an EXISTS under OR either as a probe
    per row or as one hash of every row the subquery can return (33,000 links of the
    1,153 tags of `summer`: 15-20 ms before the first row), and picks the hash for a
    walk that stops after a few hundred rows. OFFSET 0 keeps it a probe."""
    return " OFFSET 0" if walk and _postgres() else ""


def _tag_probe(plan: TokenPlan, ref: str, *, row: bool, walk: bool = False) -> tuple[str, list[Any]]:
    """SQL true when the archive `ref` (an id expression) has one of the token's tags.
    `row`: the archive row is at hand as `a` (its PostgreSQL tag-id array can be used).
    `walk`: for a walk that stops after a few rows (no hashing, see _fence)."""
    fence = _fence(walk)
    if plan.namespace is not None:
        return (
            f"EXISTS (SELECT 1 FROM {SV} xs WHERE xs.archive_id = {ref} AND xs.namespace = %s{fence})",
            [plan.namespace],
        )
    if plan.tag_ids is None:
        return (
            f"EXISTS (SELECT 1 FROM {AT} xt WHERE xt.archive_id = {ref} AND xt.tag_id IN ({plan.tag_sql}){fence})",
            list(plan.tag_params),
        )
    if not plan.tag_ids:
        return "1=0", []
    if row and _postgres() and plan.tag_count <= GIN_MAX_TAGS:
        # The column is integer[] (half the size of bigint[] in the GIN index).
        return f"a.tag_ids && ARRAY[{_int_list(plan.tag_ids)}]::integer[]", []
    # A long list is checked against the archive's own few links rather than
    # looked up once per listed tag.
    column = "xt.tag_id" if plan.tag_count <= 16 or _postgres() else "+xt.tag_id"
    return (
        f"EXISTS (SELECT 1 FROM {AT} xt WHERE xt.archive_id = {ref} AND {column} IN ({_int_list(plan.tag_ids)}){fence})",
        [],
    )


def _title_probe(plan: TokenPlan, ref: str) -> tuple[str, list[Any]] | None:
    if plan.title_ids is None:
        return f"{ref} IN (SELECT id FROM {A} WHERE title_lower {plan.title_op} %s)", [plan.title_pattern]
    if not plan.title_ids:
        return None
    # One parameter however long the list: an array, or JSON that SQLite unpacks.
    if _postgres():
        return f"{ref} = ANY(%s)", [list(plan.title_ids)]
    return f"{ref} IN (SELECT value FROM json_each(%s))", [json.dumps(plan.title_ids)]


def _archive_token_sql(plan: TokenPlan, *, walk: bool = False) -> tuple[str, list[Any]]:
    """The token as a condition on the archive row `a` (`walk`: see _fence)."""
    tag, params = _tag_probe(plan, "a.id", row=True)
    parts = [tag]
    # Left out when no title matches (known from the listing): without the OR,
    # PostgreSQL probes each walked row instead of hashing the whole tag side first.
    if plan.title_ids != []:
        parts.append(f"a.title_lower {plan.title_op} %s")
        params.append(plan.title_pattern)
    numeric = plan.token.numeric
    if numeric is not None:
        column, op, value = numeric
        expr = "a.pagecount" if column == "pagecount" else "COALESCE(rs.progress, 0)"
        parts.append(f"{expr} {_OPERATORS[op]} %s")
        params.append(value)
    if walk and len(parts) > 1:
        # Only under OR can the probe become a hash (alone, it is a semi-join).
        parts[0], _ = _tag_probe(plan, "a.id", row=True, walk=True)
    return "(" + " OR ".join(parts) + ")", params


def _archive_token_id_sql(plan: TokenPlan, ref: str) -> tuple[str, list[Any]]:
    """The token as a condition on an archive id alone (no numeric part)."""
    tag, params = _tag_probe(plan, ref, row=False)
    title = _title_probe(plan, ref)
    if title is None:
        return tag, params
    return f"({tag} OR {title[0]})", params + title[1]


def _token_members_sql(plan: TokenPlan) -> tuple[str, list[Any], bool]:
    """SELECT of the distinct ids (column `id`) of every archive the token matches,
    and whether it reads them in id order straight from an index (one tag or one
    namespace, no title matches)."""
    unique = True  # each archive at most once in the tag part
    if plan.namespace is not None:
        sql, params = f"SELECT archive_id AS id FROM {SV} WHERE namespace = %s", [plan.namespace]
    elif plan.tag_ids is None:
        sql, params, unique = (
            f"SELECT archive_id AS id FROM {AT} WHERE tag_id IN ({plan.tag_sql})",
            plan.tag_params,
            False,
        )
    elif len(plan.tag_ids) == 1:
        sql, params = f"SELECT archive_id AS id FROM {AT} WHERE tag_id = {int(plan.tag_ids[0])}", []
    elif plan.tag_ids:
        sql, params, unique = (
            f"SELECT archive_id AS id FROM {AT} WHERE tag_id IN ({_int_list(plan.tag_ids)})",
            [],
            False,
        )
    else:
        sql, params = f"SELECT id FROM {A} WHERE 1=0", []
    params = list(params)
    title = _title_probe(plan, "t.id")
    if title is not None and _postgres() and len(plan.title_ids or ()) > MEMBERS_TITLE_IDS_MAX:
        # Matched again rather than looked up by listed id: thousands of ids make a
        # long literal to send, parse and plan, and an index probe each (6,169 titles
        # of `summer`: 20 ms more than scanning the title index once more).
        title = f"t.title_lower {plan.title_op} %s", [plan.title_pattern]
    if title is None:
        return (sql if unique else f"SELECT DISTINCT id FROM ({sql}) m"), params, unique
    if not unique:
        # One dedupe pass over the links and the titles together. SQLite sorts both
        # sides and merges them when told the order (ORDER BY): faster than adding
        # 40,000 ids one by one to the temporary index of a plain UNION.
        order = "" if _postgres() else " ORDER BY 1"
        return f"{sql} UNION SELECT t.id AS id FROM {A} t WHERE {title[0]}{order}", params + title[1], False
    # Title matches that the tags did not already give (UNION ALL: no dedupe pass).
    tag, tag_params = _tag_probe(plan, "t.id", row=False)
    titles_only = f"SELECT t.id AS id FROM {A} t WHERE {title[0]} AND NOT {tag}"
    return f"{sql} UNION ALL {titles_only}", params + title[1] + tag_params, False


@dataclass
class IdSet:
    """Archives that SQL can both list (`members`: distinct ids in a column `id`) and
    test by id alone (`probe`, with `{ref}` standing for the id expression)."""

    members: str
    members_params: list[Any]
    probe: str
    probe_params: list[Any]
    # Orders sets whose estimates are both capped: a static category before one tag
    # before many tags before a whole namespace.
    breadth: int = 0
    # `members` is a plain SELECT that reads the ids in order from an index (so SQLite
    # can merge it with other such sets without sorting).
    ordered: bool = False
    _estimate: int | None = None
    _estimate_cap: int = 0

    def test(self, ref: str) -> tuple[str, list[Any]]:
        return self.probe.replace("{ref}", ref), list(self.probe_params)

    def estimate(self, cap: int = 0) -> int:
        """How many archives it holds, counted up to `cap` (by default enough to pick
        the smallest); a count already made up to a higher cap is reused."""
        cap = cap or ESTIMATE_CAP
        if self._estimate is None or (self._estimate >= self._estimate_cap and cap > self._estimate_cap):
            sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM ({self.members}) m LIMIT {int(cap)}) c"
            self._estimate = int(_fetch(sql, self.members_params)[0][0])
            self._estimate_cap = cap
        return min(self._estimate, cap)


def token_set(plan: TokenPlan) -> IdSet:
    if plan.token.numeric is not None:
        return _pages_set(plan)
    members, members_params, ordered = _token_members_sql(plan)
    probe, probe_params = _archive_token_id_sql(plan, "{ref}")
    breadth = MAX_LISTED_TAGS + 2 if plan.namespace is not None else plan.tag_count
    return IdSet(members, members_params, probe, probe_params, breadth=breadth, ordered=ordered)


def _pages_set(plan: TokenPlan) -> IdSet:
    """A `pages:` token: its page count comparison, or its tags or title."""
    assert plan.token.numeric is not None
    _, op, value = plan.token.numeric
    tag, tag_params = _archive_token_id_sql(plan, "n.id")
    where = f"(n.pagecount {_OPERATORS[op]} %s OR {tag})"
    return IdSet(
        f"SELECT n.id AS id FROM {A} n WHERE {where}",
        [value, *tag_params],
        f"EXISTS (SELECT 1 FROM {A} n WHERE n.id = {{ref}} AND {where})",
        [value, *tag_params],
        breadth=MAX_LISTED_TAGS + 1,
    )


def _shared_state_set(condition: str, params: list[Any]) -> IdSet:
    """Archives whose server-wide reading state row meets `condition` (over `x`)."""
    return IdSet(
        f"SELECT x.archive_id AS id FROM {RS} x WHERE x.user_id IS NULL AND {condition}",
        list(params),
        f"EXISTS (SELECT 1 FROM {RS} x WHERE x.archive_id = {{ref}} AND x.user_id IS NULL AND {condition})",
        list(params),
    )


def _completed_set() -> IdSet:
    """Archives read past 85 % (progress/pagecount > 0.85, in integers)."""
    condition = "x.user_id IS NULL AND x.progress > 0 AND c.pagecount > 0 AND x.progress * 100 > c.pagecount * 85"
    return IdSet(
        f"SELECT x.archive_id AS id FROM {RS} x JOIN {A} c ON c.id = x.archive_id WHERE {condition}",
        [],
        f"EXISTS (SELECT 1 FROM {RS} x JOIN {A} c ON c.id = x.archive_id WHERE x.archive_id = {{ref}} AND {condition})",
        [],
    )


def category_set(category_id: str) -> IdSet:
    return IdSet(
        f"SELECT archive_id AS id FROM {CI} WHERE category_id = %s AND archive_id IS NOT NULL",
        [category_id],
        f"{{ref}} IN (SELECT archive_id FROM {CI} WHERE category_id = %s AND archive_id IS NOT NULL)",
        [category_id],
        breadth=-1,
        ordered=True,
    )


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
    # The same archive conditions as sets of ids, when every condition besides the
    # base flags (missing, in a tank) is one: counts and small results come from them.
    including: list[IdSet] = field(default_factory=list)
    excluding: list[IdSet] = field(default_factory=list)
    by_ids: bool = False
    # Filled in by count_archives, so that the page can choose how to find its rows.
    archive_count: int | None = None
    _driver: IdSet | None = None

    @property
    def driver(self) -> IdSet:
        """The set of `including` to read members from: the smallest."""
        if self._driver is None:
            self._driver = (
                min(self.including, key=lambda s: (s.estimate(), s.breadth))
                if len(self.including) > 1
                else self.including[0]
            )
        return self._driver

    @property
    def others(self) -> list[IdSet]:
        """The sets of `including` probed by id, all but the driver."""
        return [s for s in self.including if s is not self.driver]


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
    category = None
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
    including: list[IdSet] = []
    excluding: list[IdSet] = []
    by_ids = not params.untaggedonly
    if params.hidecompleted:
        excluding.append(_completed_set())
    if params.newonly:
        # New is "no state row, or isnew": the complement of the rows with isnew false.
        excluding.append(_shared_state_set("x.isnew = %s", [False]))
    if params.sort == "lastread":
        including.append(_shared_state_set("x.lastreadtime > %s", [0]))
    if category is not None and not category.search:
        including.append(category_set(category.pk))
    plans = [plan_token(token) for token in tokens]
    # `read:` compares the reading state, where a missing row counts as 0: no id set.
    by_ids = by_ids and all(p.token.numeric is None or p.token.numeric[0] == "pagecount" for p in plans)
    if by_ids:
        list_title_matches(plans)
    for plan in plans:
        token = plan.token
        if token.numeric is not None:
            needs_state = needs_state or token.numeric[0] == "progress"
        if by_ids:
            (excluding if token.negated else including).append(token_set(plan))
        sql, sql_params = _archive_token_sql(plan)
        walk, _ = _archive_token_sql(plan, walk=True)
        archives.add(f"NOT {sql}" if token.negated else sql, *sql_params, walk=f"NOT {walk}" if token.negated else walk)
        if token.numeric is not None and not token.negated:
            tanks_possible = False  # page and read counts never match a tank
        elif token.numeric is None:
            tsql, tparams = _tank_token_sql(plan)
            tanks.add(f"NOT {tsql}" if token.negated else tsql, *tparams)
    return Query(
        params,
        archives,
        tanks if tanks_possible else None,
        needs_state,
        empty,
        including=including,
        excluding=excluding,
        by_ids=by_ids,
    )


def _tank_lastread_sql() -> str:
    return (
        f"SELECT COALESCE(MAX(mrs.lastreadtime), 0) FROM {TA} m JOIN {RS} mrs"
        " ON mrs.archive_id = m.archive_id AND mrs.user_id IS NULL WHERE m.tank_id = t.id"
    )


def _archive_from(query: Query) -> str:
    return f"FROM {A} a{_state_join(query)}"


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _visible(query: Query, ref: str) -> tuple[str, list[Any]]:
    """`ref` is in the base set: not missing and, when grouped, in no tank. Written as
    "not among the hidden ones", a short list, so that no archive row is read."""
    hidden = f"SELECT id FROM {A} WHERE missing = %s"
    params: list[Any] = [True]
    if query.params.grouped:
        hidden += f" UNION ALL SELECT id FROM {A} WHERE missing = %s AND in_tank = %s"
        params += [False, True]
    return f"{ref} NOT IN ({hidden})", params


def _by_ids_conditions(query: Query, ref: str, including: list[IdSet], excluding: list[IdSet]) -> tuple[str, list[Any]]:
    """`ref` is visible, in every set of `including` and in none of `excluding`."""
    where, params = _visible(query, ref)
    parts = [where]
    for item in including:
        sql, p = item.test(ref)
        parts.append(sql)
        params += p
    for item in excluding:
        sql, p = item.test(ref)
        parts.append(f"NOT {sql}")
        params += p
    return " AND ".join(parts), params


def _by_ids_sql(query: Query, *, select: str) -> tuple[str, list[Any]]:
    """`SELECT <select>` over the matching ids: the driver's members, probed by id."""
    where, params = _by_ids_conditions(query, "d.id", query.others, query.excluding)
    return f"SELECT {select} FROM ({query.driver.members}) d WHERE {where}", query.driver.members_params + params


def _count_base(query: Query) -> int:
    sql = f"SELECT COUNT(*) FROM {A} a WHERE a.missing = %s"
    params: list[Any] = [False]
    if query.params.grouped:
        sql += " AND a.in_tank = %s"
        params.append(False)
    return int(_fetch(sql, params)[0][0])


def count_archives(query: Query) -> int:
    query.archive_count = _count_archives(query)
    return query.archive_count


def _merged_sql(query: Query, *, select: str) -> tuple[str, list[Any]] | None:
    """SQLite: `SELECT <select>` over the matching ids as one merge of the sets'
    id-ordered index ranges (INTERSECT / EXCEPT with ORDER BY), or None when probing
    the driver's rows one by one is cheaper.

    A probe is a B-tree descent, several times the cost of reading the next index
    entry: when the driver is a large part of the library (say 39,000 `language:english`
    against `female:` and `-male:`, 92,000 and 85,000), reading every set once in id
    order beats descending into each of the others per driver row. A small driver
    (a rare tag) keeps its probes, which never read the large sets at all.
    """
    sets = [*query.including, *query.excluding]
    if _postgres() or len(sets) < 2 or not all(s.ordered for s in sets):
        return None
    driver = query.driver
    # The library's size from the end of the rowid B-tree (one descent; never below
    # the number of rows), rather than a count of them.
    size = int(_fetch(f"SELECT COALESCE(MAX(rowid), 0) FROM {A}", [])[0][0])
    threshold = max(ESTIMATE_CAP, size // MERGE_FRACTION)
    if driver.estimate(threshold) < threshold:
        return None
    parts, params = [driver.members], list(driver.members_params)
    for item in query.others:
        parts.append(f"INTERSECT {item.members}")
        params += item.members_params
    for item in query.excluding:
        parts.append(f"EXCEPT {item.members}")
        params += item.members_params
    where, visible_params = _visible(query, "d.id")
    return f"SELECT {select} FROM ({' '.join(parts)} ORDER BY 1) d WHERE {where}", params + visible_params


def _count_archives(query: Query) -> int:
    if query.empty:
        return 0
    if query.by_ids and query.including:
        merged = _merged_sql(query, select="COUNT(*)")
        return int(_fetch(*(merged or _by_ids_sql(query, select="COUNT(*)")))[0][0])
    if query.by_ids and len(query.excluding) == 1:
        # Everything but one set: the base count less the visible members of the set.
        sql, params = _visible(query, "d.id")
        excluded = query.excluding[0]
        inside = _fetch(f"SELECT COUNT(*) FROM ({excluded.members}) d WHERE {sql}", excluded.members_params + params)
        return _count_base(query) - int(inside[0][0])
    if query.by_ids and not query.excluding:
        return _count_base(query)
    rows = _fetch(f"SELECT COUNT(*) {_archive_from(query)} WHERE {query.archives.render()}", query.archives.params)
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


# Sets are counted up to this many to choose the driver (the smallest).
ESTIMATE_CAP = 2000
# SQLite merges id-ordered sets instead of probing when the driver holds at least
# this fraction (1/n) of the library.
MERGE_FRACTION = 4

# Up to this many matches, a page sorts all of them; above, it walks the order's index.
SORT_MATCHES_MAX = 3000


# PostgreSQL fences off hashing (see _fence) when a walk is expected to read at most
# this many rows: about where one probe per row costs as much as the hash.
SHORT_WALK_ROWS = 1000


def _short_walk(query: Query, offset: int, limit: int | None) -> bool:
    """PostgreSQL: an index walk for this page is expected to read few rows, going by
    the share of the library that matches (the planner's row count of the table)."""
    if not _postgres() or limit is None or not query.archive_count or query.archives.walk_sql == query.archives.sql:
        return False
    library = float(_fetch("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [A])[0][0])
    if library <= 0:  # never analysed (a new, small library): counted instead
        library = _count_base(query)
    return (offset + limit) * library / query.archive_count <= SHORT_WALK_ROWS


def _page_where(query: Query, offset: int, limit: int | None) -> tuple[str, list[Any], bool]:
    """(WHERE, params, small): `small` when the matches are few and listed by a set."""
    small = (
        query.by_ids
        and bool(query.including)
        and query.archive_count is not None
        and query.archive_count <= SORT_MATCHES_MAX
    )
    walk = not small and _short_walk(query, offset, limit)
    where, params = query.archives.render(walk=walk), list(query.archives.params)
    if not _postgres():
        # Unary + keeps SQLite from picking the flags index (nearly every row passes it)
        # over the order's index that can stop after one page.
        where = where.replace("a.missing =", "+a.missing =").replace("a.in_tank =", "+a.in_tank =")
    if small and not _postgres() and (query.others or query.excluding):
        # SQLite: the matches themselves (a few thousand), not the driver's members: a
        # large driver narrowed down by the other sets (39,000 `language:english` less
        # `female:`, 1,948 left) would otherwise have each of its wide rows read.
        matches, matches_params = _merged_sql(query, select="d.id") or _by_ids_sql(query, select="d.id")
        where = f"a.id IN ({matches}) AND {where}"
        params = matches_params + params
    elif small:
        where = f"a.id IN ({query.driver.members}) AND {where}"
        params = query.driver.members_params + params
    return where, params, small


def _limit(sql: str, params: list[Any], offset: int, limit: int | None) -> tuple[str, list[Any]]:
    if limit is not None:
        return sql + " LIMIT %s OFFSET %s", [*params, limit, offset]
    if offset:
        return sql + (" OFFSET %s" if _postgres() else " LIMIT -1 OFFSET %s"), [*params, offset]
    return sql, params


def _state_join(query: Query) -> str:
    return f" LEFT JOIN {RS} rs ON rs.archive_id = a.id AND rs.user_id IS NULL" if query.needs_state else ""


def archive_page_rows(query: Query, *, offset: int, limit: int | None) -> list[tuple[str, tuple[Any, ...]]]:
    """[(id, sort tuple)] of matching archives in order, from `offset`, at most `limit`."""
    if query.empty:
        return []
    sort = query.params.sort
    if sort == "title":
        rows = _title_rows(query, offset, limit)
    elif sort == "lastread":
        rows = _lastread_rows(query, offset, limit)
    else:
        rows = _namespace_rows(query, offset, limit)
    return [(row[0], sort_tuple(query.params, row[1], row[2], row[0])) for row in rows]


def _title_rows(query: Query, offset: int, limit: int | None) -> list[tuple[Any, ...]]:
    d = "DESC" if query.params.desc else "ASC"
    where, params, _ = _page_where(query, offset, limit)
    sql = (
        f"SELECT a.id, a.title_sort, a.title_sort FROM {A} a{_state_join(query)}"
        f" WHERE {where} ORDER BY {_collate('a.title_sort')} {d}, a.id {d}"
    )
    return _fetch(*_limit(sql, params, offset, limit))


def _lastread_rows(query: Query, offset: int, limit: int | None) -> list[tuple[Any, ...]]:
    # Newest first unless `desc`, which LANraragi inverts for this key. SQLite is told
    # to walk the last-read index (left alone, it picks the user index: every row).
    d = "ASC" if query.params.desc else "DESC"
    where, params, small = _page_where(query, offset, limit)
    walk = "" if small or _postgres() else " INDEXED BY readingstate_lastread_idx CROSS"
    sql = (
        f"SELECT a.id, rs.lastreadtime, a.title_sort FROM {RS} rs{walk} JOIN {A} a ON a.id = rs.archive_id"
        f" WHERE rs.user_id IS NULL AND rs.lastreadtime > 0 AND {where}"
        f" ORDER BY rs.lastreadtime {d}, {_collate('a.title_sort')} {d}, a.id {d}"
    )
    return _fetch(*_limit(sql, params, offset, limit))


def _namespace_rows(query: Query, offset: int, limit: int | None) -> list[tuple[Any, ...]]:
    """Archives with a value for the namespace in value order (then title, id; all
    reversed by `desc`), then those without one in title order, never reversed."""
    namespace, d = query.params.sort, "DESC" if query.params.desc else "ASC"
    where, params, small = _page_where(query, offset, limit)
    # SQLite walks the (namespace, value) index only when told to start from it.
    walk = "" if small or _postgres() else " INDEXED BY sortvalue_ns_value_idx CROSS"
    state = _state_join(query)
    head = (
        f"SELECT a.id, sv.value_sort, a.title_sort FROM {SV} sv{walk} JOIN {A} a ON a.id = sv.archive_id{state}"
        f" WHERE sv.namespace = %s AND {where}"
    )
    with_value = _fetch(
        *_limit(
            f"{head} ORDER BY {_collate('sv.value_sort')} {d}, {_collate('a.title_sort')} {d}, a.id {d}",
            [namespace, *params],
            offset,
            limit,
        )
    )
    if limit is not None and len(with_value) >= limit:
        return with_value
    if with_value:
        valued = offset + len(with_value)
    else:
        valued = int(_fetch(f"SELECT COUNT(*) FROM ({head}) v", [namespace, *params])[0][0]) if offset else 0
    rest_limit = None if limit is None else limit - len(with_value)
    without = (
        f"SELECT a.id, NULL, a.title_sort FROM {A} a{state} WHERE {where}"
        f" AND NOT EXISTS (SELECT 1 FROM {SV} xn WHERE xn.archive_id = a.id AND xn.namespace = %s)"
        f" ORDER BY {_collate('a.title_sort')} ASC, a.id ASC"
    )
    return with_value + _fetch(*_limit(without, [*params, namespace], max(offset - valued, 0), rest_limit))


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


def _matching_ids(query: Query) -> list[str]:
    """Every matching archive id, in no order, for a query with sets to include."""
    return [row[0] for row in _fetch(*_by_ids_sql(query, select="d.id"))]


def random_ids(query: Query, count: int) -> list[str]:
    """`count` distinct items picked uniformly from every match (archives and tanks).

    Matches listed by a set are sampled here; otherwise (the whole library, say) the
    database picks with `ORDER BY RANDOM()`, cheaper than sending every id over.
    """
    import random

    if count <= 0 or query.empty:
        return []
    tank_ids = [i for i, _ in matching_tanks(query)]
    if query.by_ids and query.including:
        archive_ids = _matching_ids(query)
        picked = random.sample(archive_ids, min(count, len(archive_ids)))
        total = len(archive_ids) + len(tank_ids)
    else:
        picked = [
            row[0]
            for row in _fetch(
                f"SELECT a.id {_archive_from(query)} WHERE {query.archives.render()} ORDER BY RANDOM() LIMIT %s",
                [*query.archives.params, count],
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
