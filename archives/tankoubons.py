"""Tankoubons: ordered groups of archives that grouped searches show as one item.

Writes keep three derived things in step: member positions (1..n), the members'
`in_tank` flag (grouped searches skip those archives) and the TankoubonTag index of
the tank's own tags. Every write invalidates the search cache.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists
from django.db.models import OuterRef

from archives.exceptions import HondanaError
from archives.locks import write_lock
from archives.models import Archive
from archives.models import Tag
from archives.models import Tankoubon
from archives.models import TankoubonArchive
from archives.models import TankoubonTag
from archives.search.cache import invalidate_search_cache
from archives.search.keys import natural_key
from archives.selectors import ArchiveItem
from archives.selectors import archive_items
from archives.tags import index_form
from archives.tags import join_tags
from archives.tags import normalize_tags
from archives.tags import split_namespace
from archives.tasks import tank_thumbnail_enqueue

TANK_ID = re.compile(r"TANK_\d{10}")
# An epoch has at most 18 digits here; a longer run is an ordinary tag (and one of
# thousands of digits would not even convert).
_DATE_TAG = re.compile(r"(date_added|timestamp):(\d{1,18})", re.IGNORECASE)


class TankError(HondanaError):
    """A tank write LANraragi refuses; the message is its error text."""


def _new_id() -> str:
    stamp = int(time.time())
    while Tankoubon.objects.filter(pk=f"TANK_{stamp:010d}").exists():
        stamp += 1
    return f"TANK_{stamp:010d}"


def _refresh_in_tank(arcids: Iterable[str]) -> None:
    ids = list(set(arcids))
    if ids:
        Archive.objects.filter(pk__in=ids).update(
            in_tank=Exists(TankoubonArchive.objects.filter(archive_id=OuterRef("pk")))
        )


def _set_own_tags(tank: Tankoubon, tags: list[str]) -> None:
    tank.tags = join_tags(tags)
    Tankoubon.objects.filter(pk=tank.pk).update(tags=tank.tags)
    names = {index_form(t) for t in tags}
    if names:
        Tag.objects.bulk_create([Tag(name=n, namespace=split_namespace(n)[0]) for n in names], ignore_conflicts=True)
    tag_ids = set(Tag.objects.filter(name__in=names).values_list("id", flat=True)) if names else set()
    TankoubonTag.objects.filter(tank=tank).exclude(tag_id__in=tag_ids).delete()
    TankoubonTag.objects.bulk_create([TankoubonTag(tank=tank, tag_id=i) for i in tag_ids], ignore_conflicts=True)


def tank_create(*, name: str, tankid: str = "") -> Tankoubon:
    """PUT /api/tankoubons: a new tank, or a new name for `tankid` when it exists."""
    with transaction.atomic():
        tank = Tankoubon.objects.filter(pk=tankid).first() if tankid else None
        if tank is None:
            tank = Tankoubon(id=tankid if TANK_ID.fullmatch(tankid or "") else _new_id(), name=name)
        tank.name = name
        tank.save()
        invalidate_search_cache()
    return tank


def tank_get(*, tank_id: str) -> Tankoubon | None:
    return Tankoubon.objects.filter(pk=tank_id).first()


def tank_member_ids(tank_id: str) -> list[str]:
    return list(
        TankoubonArchive.objects.filter(tank_id=tank_id).order_by("position").values_list("archive_id", flat=True)
    )


def tank_update(*, tank_id: str, archives: list[str] | None, metadata: dict[str, Any] | None) -> Tankoubon:
    """PUT /api/tankoubons/{id}: replace the ordered member list and/or the metadata."""
    with write_lock(f"tankoubon-write:{tank_id}", resource=tank_id), transaction.atomic():
        tank = Tankoubon.objects.select_for_update().filter(pk=tank_id).first()
        if tank is None:
            raise TankError(f"{tank_id} doesn't exist in the database!")
        if metadata is not None:
            if metadata.get("name"):
                tank.name = str(metadata["name"])
                tank.save(update_fields=["name"])
            if "summary" in metadata and metadata["summary"] is not None:
                tank.summary = str(metadata["summary"])
                tank.save(update_fields=["summary"])
            if "tags" in metadata and metadata["tags"] is not None:
                new = normalize_tags(str(metadata["tags"]))
                if metadata.get("append") in (True, 1, "1", "true"):
                    new = normalize_tags(",".join([tank.tags, *new]))
                _set_own_tags(tank, new)
        if archives is not None:
            ids = [str(a) for a in archives]
            known = set(Archive.objects.filter(pk__in=ids).values_list("pk", flat=True))
            for arcid in ids:
                if arcid not in known:
                    raise TankError(f"{arcid} does not exist in the database.")
            ordered = list(dict.fromkeys(ids))
            before = tank_member_ids(tank_id)
            TankoubonArchive.objects.filter(tank=tank).delete()
            TankoubonArchive.objects.bulk_create(
                [TankoubonArchive(tank=tank, archive_id=a, position=i) for i, a in enumerate(ordered, start=1)]
            )
            _refresh_in_tank([*before, *ordered])
            if before[:1] != ordered[:1]:
                tank_thumbnail_enqueue(tank_id=tank_id)
        invalidate_search_cache()
    return tank


def _tank_and_archive(tank_id: str, arcid: str) -> tuple[Tankoubon, Archive]:
    tank = Tankoubon.objects.filter(pk=tank_id).first()
    if tank is None:
        raise TankError(f"{tank_id} doesn't exist in the database!")
    archive = Archive.objects.filter(pk=arcid).first()
    if archive is None:
        raise TankError(f"{arcid} does not exist in the database.")
    return tank, archive


def tank_add_archive(*, tank_id: str, arcid: str) -> tuple[Tankoubon, Archive]:
    """Append an archive; adding one already there succeeds and changes nothing."""
    with write_lock(f"tankoubon-write:{tank_id}", resource=tank_id), transaction.atomic():
        tank, archive = _tank_and_archive(tank_id, arcid)
        if not TankoubonArchive.objects.filter(tank=tank, archive=archive).exists():
            last = TankoubonArchive.objects.filter(tank=tank).order_by("-position").values_list("position", flat=True)
            position = (last.first() or 0) + 1
            TankoubonArchive.objects.create(tank=tank, archive=archive, position=position)
            _refresh_in_tank([arcid])
            if position == 1:
                tank_thumbnail_enqueue(tank_id=tank_id)
            invalidate_search_cache()
    return tank, archive


def tank_remove_archive(*, tank_id: str, arcid: str) -> tuple[Tankoubon, Archive]:
    """Remove a member and close the gap; removing a non-member succeeds."""
    with write_lock(f"tankoubon-write:{tank_id}", resource=tank_id), transaction.atomic():
        tank, archive = _tank_and_archive(tank_id, arcid)
        first = TankoubonArchive.objects.filter(tank=tank).order_by("position").values_list("archive_id", flat=True)
        was_first = first.first() == arcid
        deleted, _ = TankoubonArchive.objects.filter(tank=tank, archive=archive).delete()
        if deleted:
            if was_first:
                tank_thumbnail_enqueue(tank_id=tank_id)
            for position, link_id in enumerate(
                TankoubonArchive.objects.filter(tank=tank).order_by("position").values_list("pk", flat=True), start=1
            ):
                TankoubonArchive.objects.filter(pk=link_id).update(position=position)
            _refresh_in_tank([arcid])
            invalidate_search_cache()
    return tank, archive


def tank_delete(*, tank_id: str) -> bool:
    """False for an id that cannot be a tank's (LANraragi checks its length only);
    deleting an unknown tank of the right shape succeeds."""
    if len(tank_id) != 15:
        return False
    with write_lock(f"tankoubon-write:{tank_id}", resource=tank_id), transaction.atomic():
        members = tank_member_ids(tank_id)
        Tankoubon.objects.filter(pk=tank_id).delete()
        _refresh_in_tank(members)
        invalidate_search_cache()
    from archives.services import thumbnails_delete

    thumbnails_delete(arcid=tank_id)
    return True


# --- reads ----------------------------------------------------------------------------


def tanks_containing(arcid: str) -> list[str]:
    return list(TankoubonArchive.objects.filter(archive_id=arcid).order_by("tank_id").values_list("tank_id", flat=True))


@dataclass(frozen=True)
class TankMembers:
    """A tank and the ids of its members (all, or one page of them), in order."""

    tank: Tankoubon
    member_ids: list[str]


@dataclass(frozen=True)
class TankDetail:
    """A tank, the member ids on the page asked for, those members that are present
    (in order, with their reading state), and how many members it has in all."""

    tank: Tankoubon
    member_ids: list[str]
    archives: list[ArchiveItem]
    total: int


@dataclass(frozen=True)
class TankItem:
    """A tank as a grouped search shows it: one item standing for its members."""

    tank: Tankoubon
    archives: list[ArchiveItem]
    tags: list[str]  # its own tags, then its members' (see _unified_tags)

    @property
    def arcid(self) -> str:
        return self.tank.pk

    @property
    def title(self) -> str:
        return self.tank.name

    @property
    def isnew(self) -> bool:
        return any(a.isnew for a in self.archives)

    @property
    def progress(self) -> int:
        return self.tank.progress

    @property
    def pagecount(self) -> int:
        return sum(a.pagecount for a in self.archives)

    @property
    def lastreadtime(self) -> int:
        return max((a.lastreadtime for a in self.archives), default=0)

    @property
    def size(self) -> int:
        return sum(a.size for a in self.archives)

    @property
    def archive_count(self) -> int:
        return len(self.archives)


def tank_list(*, page: int, pagesize: int) -> tuple[list[TankMembers], int]:
    """One page of tanks by id (all of them when page < 0), and the number of tanks."""
    tanks = Tankoubon.objects.order_by("pk")
    total = tanks.count()
    if page * pagesize >= total:
        # Also keeps a huge page number out of the database's OFFSET.
        tanks = tanks.none()
    elif page >= 0:
        tanks = tanks[page * pagesize : (page + 1) * pagesize]
    tanks = list(tanks)
    members: dict[str, list[str]] = {t.pk: [] for t in tanks}
    for tank_id, arcid in (
        TankoubonArchive.objects.filter(tank__in=tanks)
        .order_by("tank_id", "position")
        .values_list("tank_id", "archive_id")
    ):
        members[tank_id].append(arcid)
    return [TankMembers(tank=t, member_ids=members[t.pk]) for t in tanks], total


def tank_detail(*, tank: Tankoubon, page: int, pagesize: int) -> TankDetail:
    """The tank with one page of its members (all of them when page < 0)."""
    members = tank_member_ids(tank.pk)
    shown = members if page < 0 else members[page * pagesize : (page + 1) * pagesize]
    items = archive_items(shown)
    return TankDetail(tank=tank, member_ids=shown, archives=[items[a] for a in shown if a in items], total=len(members))


def _unified_tags(own: str, member_tags: list[str]) -> list[str]:
    """The tank's own tags, then its members' (deduplicated, case-insensitively), with
    date_added/timestamp coalesced to the newest member value unless the tank has its own."""
    own_tags = normalize_tags(own)
    seen = {t.lower() for t in own_tags}
    own_dates = {m.group(1).lower() for t in own_tags if (m := _DATE_TAG.fullmatch(t))}
    newest: dict[str, tuple[int, str]] = {}
    imputed: list[str] = []
    for tags in member_tags:
        for tag in normalize_tags(tags or ""):
            date = _DATE_TAG.fullmatch(tag)
            if date:
                ns, value = date.group(1).lower(), int(date.group(2))
                if ns not in newest or value > newest[ns][0]:
                    newest[ns] = (value, tag)
                continue
            if tag.lower() in seen:
                continue
            seen.add(tag.lower())
            imputed.append(tag)
    imputed += [tag for ns, (_, tag) in newest.items() if ns not in own_dates]
    return own_tags + imputed


def tank_items(tank_ids: list[str]) -> dict[str, TankItem]:
    """The tanks of `tank_ids` as grouped search items (LANraragi's build_tank_json), by id."""
    tanks = {t.pk: t for t in Tankoubon.objects.filter(pk__in=tank_ids)}
    links = TankoubonArchive.objects.filter(tank_id__in=tank_ids).order_by("tank_id", "position")
    members: dict[str, list[str]] = {}
    for tank_id, arcid in links.values_list("tank_id", "archive_id"):
        members.setdefault(tank_id, []).append(arcid)
    items = archive_items([a for ids in members.values() for a in ids])
    out = {}
    for tank_id, tank in tanks.items():
        data = [items[a] for a in members.get(tank_id, []) if a in items]
        out[tank_id] = TankItem(tank=tank, archives=data, tags=_unified_tags(tank.tags, [d.tags for d in data]))
    return out


def tank_namespace_sort_values(tank_ids: list[str], namespace: str) -> dict[str, str]:
    """Natural key of each tank's last `<namespace>:` tag in its unified tag list."""
    own = dict(Tankoubon.objects.filter(pk__in=tank_ids).values_list("pk", "tags"))
    member_tags: dict[str, list[str]] = {}
    for tank_id, tags in (
        TankoubonArchive.objects.filter(tank_id__in=tank_ids)
        .order_by("tank_id", "position")
        .values_list("tank_id", "archive__tags")
    ):
        member_tags.setdefault(tank_id, []).append(tags or "")
    out = {}
    for tank_id in tank_ids:
        value = None
        for tag in _unified_tags(own.get(tank_id, ""), member_tags.get(tank_id, [])):
            ns, sep, rest = tag.lower().partition(":")
            if sep and ns == namespace:
                value = natural_key(rest.strip())
        if value is not None:
            out[tank_id] = value
    return out
