"""Repository functions: keyword-only, one transaction each; the only code that commits.

Each takes the :class:`db.engine.Database` and opens the session it needs (``read()`` or
``write()``), so callers never hold a transaction open across an await on something else.
"""
