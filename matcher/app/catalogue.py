"""Opening the configured catalogue database (seeded with the bundled sample when asked and empty)."""

from __future__ import annotations

import logging

from matcher.app.sample import load_sample
from matcher.data.catalogue import Catalogue
from matcher.settings import Settings

log = logging.getLogger(__name__)


def open_catalogue(settings: Settings, with_sample: bool = False) -> Catalogue:
    """The catalogue at ``settings.db_url`` (its folders created); ``with_sample``: an empty one gets the sample."""
    settings.ensure_dirs()
    catalogue = Catalogue(settings.db_url)
    if with_sample and catalogue.counts()["suppliers"] == 0:
        log.info("empty catalogue: loading the bundled sample data")
        load_sample(catalogue)
    return catalogue
