"""How a job's outcome is recorded, with jobs run inline (the worker's code path)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job
from jobs.services import job_enqueue
from jobs.services import retry_delay

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_cover_job_for_an_archive_deleted_before_it_ran_ends_quietly(caplog):
    caplog.set_level(logging.INFO)
    job = job_enqueue("thumbnail_task", ["", "0" * 40, 0], attempts=3)
    job.refresh_from_db()
    assert job.state == "finished"
    assert job.result == {"success": 0, "note": "No archive " + "0" * 40}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_dedupe_sends_again_the_job_it_returns_when_its_message_never_left(settings):
    # A cover job recorded while the broker was down: its row exists, no message does.
    job = Job.objects.create(
        task="build_stat_hashes", celery_id="never-sent", args=[], dedupe_key="stats", delayed=timezone.now()
    )
    Job.objects.filter(pk=job.pk).update(created=timezone.now() - timedelta(minutes=1))
    again = job_enqueue("build_stat_hashes", [], dedupe_key="stats")
    assert again.pk == job.pk
    job.refresh_from_db()
    assert job.state == "finished", "the job handed out by dedupe was never run"


def test_retry_delay_grows_like_minions(settings):
    settings.HONDANA_JOB_RETRY_DELAY = 15
    assert [retry_delay(n) for n in range(4)] == [15, 16, 31, 96]
    assert retry_delay(50) == 3600
