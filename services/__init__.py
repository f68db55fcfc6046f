"""Use cases behind the HTTP API: authentication, rate limits, jobs and their admission.

Nothing here knows about HTTP requests or responses; errors are the public error family in
``services.errors``, which ``api/errors.py`` renders as the error envelope.
"""
