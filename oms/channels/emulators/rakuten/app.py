"""`create_app()`: the emulated RMS Web Service as an ASGI app (`oms emulate rakuten`)."""

from __future__ import annotations

from litestar import Litestar
from litestar.di import Provide

from oms.channels.emulators.rakuten.config import EmulatorConfig
from oms.channels.emulators.rakuten.control import control_router
from oms.channels.emulators.rakuten.inventory import inventory_routers
from oms.channels.emulators.rakuten.orders import get_order, search_order
from oms.channels.emulators.rakuten.shipping import update_order_shipping
from oms.channels.emulators.rakuten.state import ShopState


def create_app(seed_orders: int = 0, config: EmulatorConfig | None = None) -> Litestar:
    shop = ShopState(config or EmulatorConfig())
    shop.seed(seed_orders)

    def provide_shop() -> ShopState:
        return shop

    app = Litestar(
        route_handlers=[
            search_order,
            get_order,
            update_order_shipping,
            *inventory_routers(),
            control_router(),
        ],
        dependencies={"shop": Provide(provide_shop, sync_to_thread=False)},
        openapi_config=None,
    )
    app.state.shop = shop  # for in-process tests and the demo
    return app
