"""The directory worker process."""

from backbone.settings import Settings
from backbone.worker import WorkerPlan
from services.basic import basic_plan
from services.directory import SERVICE


def plan(settings: Settings) -> WorkerPlan:
    return basic_plan(SERVICE)
