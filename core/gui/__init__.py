"""The Tk windows: ``gui_server.py`` and ``gui_client.py`` are thin launchers of these.

Rules every module here keeps: Tk is touched only on the main thread; engine events reach a
window through its one :class:`~core.gui.pump.EventPump`; anything slow runs in a worker
thread (:func:`~core.gui.worker.run_in_background`); dialogs go through
:class:`~core.gui.dialogs.Dialogs` so tests can replace them.
"""
