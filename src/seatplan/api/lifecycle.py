"""Subscriptions over time: scheduled changes and trials."""

from ninja import Router

router = Router(tags=["Subscriptions"])
