"""The Tk windows: ``gui_server.py`` and ``gui_client.py`` are thin launchers of these.

They stay in core/ (the top level is fixed by the person Filecast is built for) as a front
end: they may import the core.server and core.client facades, core.wire, core.events,
core.errors, core.settings and core.activity, and nothing inside either engine side.

Rules every module here keeps: Tk is touched only on the main thread; engine events reach a
window through its one :class:`~core.gui.pump.EventPump`; anything slow runs in a worker
thread (:func:`~core.gui.worker.run_in_background`); dialogs go through
:class:`~core.gui.dialogs.Dialogs` so tests can replace them.
"""
