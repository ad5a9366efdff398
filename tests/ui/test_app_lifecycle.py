"""App lifecycle: what happens around first paint and teardown."""

from __future__ import annotations

import gc

from tests.ui.test_app_fake import make_app


async def test_gc_is_frozen_after_first_paint_and_unfrozen_on_exit() -> None:
    gc.unfreeze()  # whatever an earlier test left behind
    app = make_app()
    async with app.run_test(size=(100, 32)) as pilot:
        assert gc.get_freeze_count() == 0
        await app.refresh_snapshot()
        await pilot.pause()
        for _ in range(50):
            if app.first_paint_at is not None:
                break
            await pilot.pause()
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
