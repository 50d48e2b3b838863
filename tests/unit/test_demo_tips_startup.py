"""Demo tips (COZYKART_DEMO_TIPS=1) are for dev mode only: production refuses to start with them."""

from __future__ import annotations

import pytest

from cozykart.domain.errors import CozyKartError
from cozykart.domain.payments import DemoTipsInProduction
from cozykart.services.tips import refuse_demo_tips_in_production
from cozykart.settings import load_settings


def test_demo_tips_in_production_refuse_to_start_and_name_the_setting():
    with pytest.raises(DemoTipsInProduction, match="COZYKART_DEMO_TIPS") as refused:
        refuse_demo_tips_in_production(demo_tips=True, production=True)
    assert isinstance(refused.value, CozyKartError)


@pytest.mark.parametrize(("demo_tips", "production"), [(True, False), (False, True), (False, False)])
def test_without_demo_tips_or_in_dev_mode_the_app_starts(demo_tips, production):
    refuse_demo_tips_in_production(demo_tips=demo_tips, production=production)


def test_the_settings_read_the_demo_flag_and_the_mode_reflex_runs_in():
    assert (load_settings({}).demo_tips, load_settings({}).production_mode) == (False, False)
    settings = load_settings({"COZYKART_DEMO_TIPS": "1", "REFLEX_ENV_MODE": "prod"})
    assert (settings.demo_tips, settings.production_mode) == (True, True)
    assert load_settings({"REFLEX_ENV_MODE": "dev"}).production_mode is False
