"""LANraragi's Minion API over Job rows: status, detail, and queueing by name."""

from __future__ import annotations

import json

from django.http import HttpResponse
from rest_framework.request import Request

from archives.api import params
from archives.api.base import ApiView
from archives.api.render import json_response
from archives.api.responses import envelope
from archives.api.responses import plain
from jobs import registry
from jobs import services


def _job_id(raw: str) -> int:
    return params.parse_integer(raw, "jobid")


class JobStatusView(ApiView):
    operations = {"GET": "minion_job_status"}

    def get(self, request: Request, jobid: str) -> HttpResponse:
        job = services.job_get(_job_id(jobid))
        if job is None:
            # LANraragi answers 500 here (an undocumented 400 fails its response check).
            return envelope("minion_job_status", error="No job with this ID.")
        return json_response(services.job_status_json(job))


class JobDetailView(ApiView):
    protected = frozenset({"GET", "HEAD"})
    operations = {"GET": "minion_job_detail"}

    def get(self, request: Request, jobid: str) -> HttpResponse:
        job = services.job_get(_job_id(jobid))
        if job is None:
            return envelope("minion_job_detail", error="No job with this ID.")
        return json_response(services.job_detail_json(job))


def _no_constant(name: str) -> None:
    raise ValueError(name)


class QueueJobView(ApiView):
    protected = frozenset({"POST"})
    operations = {"POST": "queue_minion_job"}

    def post(self, request: Request, jobname: str) -> HttpResponse:
        if jobname not in registry.MINION_NAMES:
            raise params.ParamError(f"Not in enum list: {', '.join(registry.MINION_NAMES)}.", "/jobname")
        raw_args = params.string(request, "args", required=True) or ""
        priority = params.integer(request, "priority", default=0) or 0
        try:
            # NaN and Infinity are no JSON (PostgreSQL's jsonb refuses them).
            args = json.loads(raw_args, parse_constant=_no_constant)
        except (json.JSONDecodeError, ValueError):
            return envelope("queue_minion_job", error="args must be a JSON array.")
        if not isinstance(args, list):
            return envelope("queue_minion_job", error="args must be a JSON array.")
        params.check_json(args, "/args")
        job_type = registry.queueable(jobname)
        if job_type is None:
            return envelope("queue_minion_job", error=f"Jobs of type {jobname} are not available on this server.")
        problem = job_type.args_problem(args)
        if problem:
            return envelope("queue_minion_job", error=problem)
        # Minion queues a new job each time a client asks by name: no dedupe here.
        job = job_type.enqueue(args, priority=priority, dedupe=False)
        return plain("queue_minion_job", job=job.pk)
