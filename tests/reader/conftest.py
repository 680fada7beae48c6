"""Fixtures for the web pages: users and server settings."""

from __future__ import annotations

import pytest
from django.test import Client

from archives.models import ServerConfig


@pytest.fixture
def admin_client(django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_superuser(username="boss", password=None))
    return client


@pytest.fixture
def member_client(django_user_model):
    """A logged-in user who is not staff (no password: hashing one is slow)."""
    client = Client()
    client.force_login(django_user_model.objects.create_user(username="reader", password=None))
    return client


def configure(**fields) -> None:
    """Change ServerConfig fields (the tests' database is reset after each test)."""
    row, _ = ServerConfig.objects.get_or_create(pk=1)
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()  # tells archives.config at once


@pytest.fixture
def server_config():
    """server_config(nofunmode=True) changes the settings for one test."""
    return configure
