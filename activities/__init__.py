"""Side effects of a job, one class per concern, each built once by the worker with its
dependencies injected (database, HTTP and LLM clients, settings)."""
