"""/api/plugins/*: listing, running now, queueing, and the plugins that run on new archives."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.contrib.auth import get_user_model

from archives.models import Archive
from archives.models import PluginSetting
from archives.models import ServerConfig
from archives.plugins.runs import plugins_run_enabled
from jobs.models import Job
from tests.samples import jpeg_bytes
from tests.samples import upload

pytestmark = pytest.mark.django_db

COMICINFO = """<?xml version="1.0"?>
<ComicInfo><Title>From ComicInfo</Title><Writer>Circle</Writer><Penciller>Pen</Penciller>
<Genre>Digital, romance</Genre><LanguageISO>en</LanguageISO></ComicInfo>"""


def cbz_with(extra: dict[str, str | bytes], pages: int = 2) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(pages):
            z.writestr(f"{i:03d}.jpg", jpeg_bytes(i))
        for name, data in extra.items():
            z.writestr(name, data)
    return buf.getvalue()


def configure(**fields) -> None:
    ServerConfig.objects.update_or_create(pk=1, defaults=fields)


def post(client, url: str, auth_header, **query):
    from urllib.parse import urlencode

    return client.post(f"{url}?{urlencode(query)}", **auth_header)


def test_plugin_list_has_lanraragis_shape(client, auth_header):
    r = client.get("/api/plugins/metadata", **auth_header)
    assert r.status_code == 200
    plugins = {p["namespace"]: p for p in r.json()}
    assert set(plugins) == {"regexplugin", "comicinfo"}
    regex = plugins["regexplugin"]
    assert {k: regex[k] for k in ("name", "type", "author", "version")} == {
        "name": "Filename Parsing",
        "type": "metadata",
        "author": "Difegue",
        "version": "1.2",
    }
    assert [p["name"] for p in regex["parameters"]] == ["check_trailing_tags", "keep_all_captures", "regex"]
    assert {p["type"] for p in regex["parameters"]} == {"bool", "string"}
    assert client.get("/api/plugins/all", **auth_header).json() == r.json()
    assert client.get("/api/plugins/script", **auth_header).json() == []
    bad = client.get("/api/plugins/nope", **auth_header)
    assert bad.status_code == 400
    assert bad.json()["errors"][0] == {
        "message": "Not in enum list: download, login, metadata, script, all.",
        "path": "/type",
    }
    assert client.get("/api/plugins/metadata").status_code == 401


def test_use_runs_comicinfo_without_storing_anything(client, auth_header):
    data = cbz_with({"ComicInfo.xml": COMICINFO})
    arcid = upload(client, "Some File.cbz", data, headers=auth_header, tags="artist:pen").json()["id"]

    r = post(client, "/api/plugins/use", auth_header, plugin="comicinfo", id=arcid)

    assert r.status_code == 200
    # "digital" is dropped by the default tag rules, "artist:Pen" is already there
    # (case-insensitive), and the spacing is LANraragi's.
    assert r.json() == {
        "operation": "use_plugin",
        "type": "metadata",
        "success": 1,
        "error": None,
        "data": {"new_tags": " group:Circle, language:en, romance", "title": "From ComicInfo"},
    }
    archive = Archive.objects.get(pk=arcid)
    assert (archive.title, archive.tags.split(",")[0]) == ("Some File", "artist:pen")


def test_use_reports_failures_in_the_body(client, auth_header):
    arcid = upload(client, "plain.cbz", cbz_with({}), headers=auth_header).json()["id"]
    cases = [
        ({"plugin": "comicinfo", "id": arcid}, "No ComicInfo.xml file found in the archive", "metadata"),
        ({"plugin": "comicinfo"}, "Tried to call a metadata plugin without providing an id.", "metadata"),
        ({"plugin": "comicinfo", "id": "f" * 40}, "This ID doesn't exist on the server.", "metadata"),
        ({"plugin": "nope", "id": arcid}, "Plugin not found on system.", None),
    ]
    for query, error, plugin_type in cases:
        body = post(client, "/api/plugins/use", auth_header, **query).json()
        expected = {"operation": "use_plugin", "success": 0, "error": error, "data": {"error": error}}
        if plugin_type:
            expected["type"] = plugin_type
        assert body == expected, query
    short = post(client, "/api/plugins/use", auth_header, plugin="comicinfo", id="abc")
    assert short.status_code == 400 and short.json()["errors"][0]["path"] == "/id"


def test_use_follows_tag_rules_replacetitles_and_parameters(client, auth_header):
    name = "(C99) [Circle (Pen)] The Title (Series) [English] (Digital).cbz"
    arcid = upload(client, name, cbz_with({}), headers=auth_header).json()["id"]
    configure(tagrules="-language:*\nseries:* -> parody:*", replacetitles=False)
    PluginSetting.objects.create(namespace="regexplugin", params={"keep_all_captures": True})

    data = post(client, "/api/plugins/use", auth_header, plugin="regexplugin", id=arcid).json()["data"]

    # The plugin sorts its tags; the rules rename series: afterwards.
    assert data == {"new_tags": " artist:Pen, event:C99, group:Circle, parsed:Digital, parody:Series"}
    configure(tagruleson=False, replacetitles=True)
    data = post(client, "/api/plugins/use", auth_header, plugin="regexplugin", id=arcid).json()["data"]
    assert "language:English" in data["new_tags"] and data["title"] == "The Title"


def test_queue_runs_the_plugin_as_a_job(client, auth_header, django_capture_on_commit_callbacks):
    arcid = upload(client, "x.cbz", cbz_with({"sub/comicinfo.xml": COMICINFO}), headers=auth_header).json()["id"]

    with django_capture_on_commit_callbacks(execute=True):
        r = post(client, "/api/plugins/queue", auth_header, plugin="comicinfo", id=arcid, arg="one-shot", priority=3)

    assert r.status_code == 200
    body = r.json()
    assert body["operation"] == "queue_plugin_exec" and body["success"] == 1
    job = Job.objects.get(pk=body["job"])
    assert (job.task, job.args, job.priority, job.state) == (
        "run_plugin",
        ["comicinfo", arcid, "one-shot"],
        3,
        "finished",
    )
    assert job.result["type"] == "metadata" and job.result["success"] == 1
    assert job.result["data"]["title"] == "From ComicInfo"
    status = client.get(f"/api/minion/{job.pk}").json()
    assert (status["task"], status["state"]) == ("run_plugin", "finished")
    # Queued by name through the Minion API too.
    with django_capture_on_commit_callbacks(execute=True):
        r = post(client, "/api/minion/run_plugin/queue", auth_header, args=f'["nope", "{arcid}", null]')
    assert Job.objects.get(pk=r.json()["job"]).result == {
        "success": 0,
        "error": "Plugin not found on system.",
        "data": {"error": "Plugin not found on system."},
    }


def test_enabled_plugins_tag_new_uploads(client, auth_header, django_capture_on_commit_callbacks):
    PluginSetting.objects.create(namespace="regexplugin", enabled=True)
    PluginSetting.objects.create(namespace="comicinfo", enabled=True)
    data = cbz_with({"ComicInfo.xml": COMICINFO})

    with django_capture_on_commit_callbacks(execute=True):
        r = upload(client, "[Someone] File Title.cbz", data, headers=auth_header, tags="mine")

    assert r.status_code == 200
    archive = Archive.objects.get(pk=r.json()["id"])
    tags = archive.tags.split(",")
    # The upload's own tags first, then each plugin's new ones (regexplugin runs first).
    assert tags[0] == "mine" and tags[1].startswith("date_added:")
    assert tags[2:] == ["artist:Someone", "group:Circle", "artist:Pen", "language:en", "romance"]
    # Both plugins found a title; the last one to run wins.
    assert archive.title == "From ComicInfo"
    job = Job.objects.get(task="auto_plugins")
    assert job.result["message"] == "2 Plugins used successfully, 0 Plugins failed, 5 tags added. "
    search = client.get("/api/search", {"filter": "artist:pen"}).json()
    assert [d["arcid"] for d in search["data"]] == [archive.pk]
    # A second run (a retried job) finds nothing new to add.
    again = plugins_run_enabled(arcid=archive.pk)
    assert (again.successes, again.added) == (2, 0)
    assert Archive.objects.get(pk=archive.pk).tags == archive.tags


def test_no_plugin_job_unless_one_is_enabled(client, auth_header, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, "[A] B.cbz", cbz_with({}), headers=auth_header)
        PluginSetting.objects.create(namespace="comicinfo", enabled=False)
        upload(client, "[C] D.cbz", cbz_with({}, pages=3), headers=auth_header)
    assert not Job.objects.filter(task="auto_plugins").exists()
    assert Archive.objects.get(title="[C] D").tags.startswith("date_added:")


def test_settings_page_chooses_the_plugins_and_tag_rules(client):
    user = get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.force_login(user)
    page = client.get("/settings")
    assert b"Run ComicInfo on new archives" in page.content and b"-already uploaded" in page.content
    form = {
        "name": "Hondana",
        "motd": "Hi",
        "enablepass": "on",
        "archives_per_page": "100",
        "excluded_namespaces": "source",
        "tempmaxsize": "500",
        "sizethreshold": "1000",
        "readerquality": "50",
        "pagethumb_max_pages": "0",
        "tagruleson": "on",
        "tagrules": "-foo\n-bar",
        "plugin_comicinfo": "on",
    }
    r = client.post("/settings", form)
    assert r.status_code == 302, r.content
    assert ServerConfig.objects.get().tagrules.splitlines() == ["-foo", "-bar"]
    assert list(PluginSetting.objects.filter(enabled=True).values_list("namespace", flat=True)) == ["comicinfo"]


def test_plugin_settings_in_the_admin(client):
    user = get_user_model().objects.create_superuser("boss", password="pw-12345678")
    client.force_login(user)
    assert client.get("/admin/archives/pluginsetting/").status_code == 200
    assert client.get("/admin/archives/pluginsetting/add/").status_code == 200
    r = client.post(
        "/admin/archives/pluginsetting/add/",
        {"namespace": "regexplugin", "enabled": "on", "params": '{"keep_all_captures": "1"}'},
    )
    assert r.status_code == 302
    setting = PluginSetting.objects.get()
    assert (setting.enabled, setting.params) == (True, {"keep_all_captures": "1"})
    ServerConfig.objects.get_or_create(pk=1)
    page = client.get("/admin/archives/serverconfig/1/change/")
    assert page.status_code == 200 and b"Metadata plugins" in page.content
