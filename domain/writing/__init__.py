"""The offline writer's building blocks: text and sentences, languages and stopwords,
tone, the voice samples' habits, knowledge-base relevance, hashtags and framing phrases.

All pure (no I/O) and deterministic: the same input gives the same post on every machine
(nothing here iterates a set or a hash in an order that reaches the output).
"""
