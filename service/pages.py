"""The HTML screens: Jinja templates in the State's design system, with or without the State's marks.

The marks (the Marianne block, « République française », the Marianne typeface) belong to State
services on a gouv.fr domain; ``Settings.state_deployment`` says whether this deployment is one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from matcher.settings import Settings

TEMPLATES = Path(__file__).parent / "templates"
SERVICE_NAME = "Start-up pertinentes"
TAGLINE = "Mise en relation des acheteurs publics et des start-up innovantes"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False)


def render(template: str, settings: Settings, **context: object) -> str:
    """The screen ``template`` (a file under ``service/templates``) for this deployment."""
    return _environment().get_template(template).render(state=settings.state_deployment, service=SERVICE_NAME, tagline=TAGLINE, **context)
