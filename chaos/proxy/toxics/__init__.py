"""Toxics: one small module per fault, behind :class:`~chaos.proxy.toxics.base.Toxic`.

To add one: write ``chaos/proxy/toxics/<name>.py`` with an attributes model, a class with
``async def pipe(self, stub)`` and ``KIND = ToxicKind(...)``, then list it in ``registry.py``.
"""
