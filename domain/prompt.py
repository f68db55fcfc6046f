"""The instructions sent to the LLM, built from the project's voice and the source."""

from __future__ import annotations

import json
from dataclasses import dataclass

from contracts import GenerationOptions, ProjectContext
from domain.linkedin import LINKEDIN_MAX_CHARS
from domain.writing.languages import detect_language, primary
from domain.writing.text import words

SOURCE_MAX_CHARS = 12_000
SAMPLE_MAX_CHARS = 900
MAX_SAMPLES = 3


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]

    @property
    def text(self) -> str:
        return f"{self.system}\n{self.user}"


def resolve_language(
    context: ProjectContext, options: GenerationOptions, source_text: str = ""
) -> str:
    """The post's language: the requested one, else the source's when it is clearly
    another language than the project's (a German source gets a German post), else the
    project's."""
    if options.language:
        return options.language
    project = context.language or "en"
    detected = detect_language(w.lower() for w in words(source_text))
    return detected if detected and detected != primary(project) else project


def build_prompt(
    *, context: ProjectContext, source_text: str, options: GenerationOptions
) -> Prompt:
    language = resolve_language(context, options, source_text)
    max_length = min(options.max_length or LINKEDIN_MAX_CHARS, LINKEDIN_MAX_CHARS)
    kind = "a company page" if context.project_type == "COMPANY_PAGE" else "a personal brand"
    rules = [
        f"Write in the language with BCP 47 tag '{language}'.",
        "The first line is a hook of at most 150 characters that makes people stop scrolling.",
        "Then short paragraphs of one or two sentences, separated by blank lines.",
        "Plain text only: no markdown, no headings, no bold.",
        f"At most {max_length} characters in total.",
        "Use only facts from the source and the knowledge passages; invent nothing.",
    ]
    if options.include_hashtags:
        rules.append("End with one line of three to five relevant hashtags.")
    else:
        rules.append("Do not use hashtags.")
    if options.tone:
        rules.append(f"Tone for this post: {options.tone}.")
    sections = [
        f"You are the LinkedIn ghostwriter for {context.name}, {kind}.",
        "Rules:\n" + "\n".join(f"- {rule}" for rule in rules),
    ]
    if context.tone_profile:
        sections.append(
            "Tone of voice profile:\n" + json.dumps(context.tone_profile, ensure_ascii=False)
        )
    if context.voice_samples:
        samples = "\n---\n".join(s[:SAMPLE_MAX_CHARS] for s in context.voice_samples[:MAX_SAMPLES])
        sections.append(f"Posts in this voice (match their style, not their content):\n{samples}")
    if context.pillars:
        sections.append("Content pillars: " + "; ".join(context.pillars))
    if context.passages:
        passages = "\n".join(f"[{p.document_title}] {p.text}" for p in context.passages)
        sections.append(f"Knowledge passages relevant to the source:\n{passages}")
    user = (
        "Write one LinkedIn post based on this source. Output only the post.\n\n"
        f"<source>\n{source_text[:SOURCE_MAX_CHARS]}\n</source>"
    )
    return Prompt(system="\n\n".join(sections), user=user)
