"""The channels' side of resale early access: every marketplace channel excludes the SKUs of
resale units in early access (`resale_stage=early`). A marketplace cannot show an item to some
customers only, so it gets the unit from `public_from` on. Ordinary exclusions, visible and
audited like any other rule: the availability pipeline stays the one implementation of what a
channel may sell."""

from __future__ import annotations

from oms.channels.availability.domain.rules import ChannelKind, Exclusion, ExclusionKind
from oms.channels.availability.services.channels import ChannelService
from oms.resale.domain import Stage
from oms.resale.services.core import STAGE_ATTRIBUTE

MARKETPLACES = frozenset({ChannelKind.AMAZON, ChannelKind.RAKUTEN})
EARLY_UNITS = Exclusion(ExclusionKind.ATTRIBUTE, attribute=STAGE_ATTRIBUTE, value=Stage.EARLY.value)


class EarlyUnitsOffMarketplaces:
    """`oms.resale.ports.MarketplaceRules` over the channel services."""

    def __init__(self, channels: ChannelService) -> None:
        self._channels = channels

    def keep_early_units_off_marketplaces(self, actor: str) -> None:
        cursor: str | None = None
        while True:
            page = self._channels.list_channels(cursor, 100)
            for channel in page.items:
                if channel.kind not in MARKETPLACES:
                    continue
                rules = self._channels.channel_rules(channel.code)
                if any(e.key == EARLY_UNITS.key for e in rules.exclusions):
                    continue
                self._channels.add_exclusion(channel.code, EARLY_UNITS, actor)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor
