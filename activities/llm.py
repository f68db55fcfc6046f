"""Writing the post: the OpenAI-compatible provider, or the offline writer.

Temporal owns retries: the client is built with ``max_retries=0`` and every failure is
translated here into an ``ApplicationError`` whose type says whether retrying can help.
Each billed call is booked in the ledger the moment its usage is known, before anything
that could fail, so a retry never loses or doubles a charge.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.context import ProjectVoice
from activities.heartbeat import heartbeating
from activities.metrics import record_llm_usage, timed_llm_call
from config import Settings
from contracts import (
    GENERATION_FAILED,
    JOB_ERROR_MESSAGES,
    PROVIDER_REJECTED,
    PROVIDER_UNAVAILABLE,
    GeneratedPost,
    GeneratePostInput,
    JobMode,
    ProjectContext,
    TokenUsage,
)
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.repo import ledger
from domain.linkedin import LINKEDIN_MAX_CHARS, finalize_post
from domain.offline_writer import write_offline
from domain.pricing import estimate_tokens
from domain.prompt import Prompt, build_prompt, resolve_language

if TYPE_CHECKING:
    # Only the worker calls the provider. The API imports this module too (through the
    # workflow), and loading the SDK there cost it ~14 MB and 0.3 s of start-up.
    import openai
    from openai.types.chat import ChatCompletion


class LlmActivities:
    def __init__(
        self, *, db: Database, settings: Settings, client: openai.AsyncOpenAI | None
    ) -> None:
        self._db = db
        self._settings = settings
        self._client = client
        self._voice = ProjectVoice(db)

    @activity.defn(name="generate_post")
    async def generate_post(self, request: GeneratePostInput) -> GeneratedPost:
        """Load the project's voice, then write the post with the LLM (live keys) or the
        offline writer (test keys)."""
        info = activity.info()
        await jobs_repo.start_attempt(
            db=self._db,
            job_id=request.job_id,
            message="Writing the post" + (f" (attempt {info.attempt})" if info.attempt > 1 else ""),
            now=datetime.now(UTC),
        )
        context = await self._voice.load(
            workspace_id=request.workspace_id,
            project_id=request.project_id,
            source_text=request.source_text,
        )
        prompt = build_prompt(
            context=context, source_text=request.source_text, options=request.options
        )
        language = resolve_language(context, request.options, request.source_text)
        # One key per provider call: the same attempt booked twice is booked once.
        charge_key = ":".join(
            (
                request.job_id,
                "charge",
                info.workflow_run_id or "",
                info.activity_id,
                str(info.attempt),
            )
        )
        if request.mode is JobMode.TEST or self._client is None:
            return await self._write_offline(request, context, prompt, language, charge_key)
        with timed_llm_call(model=self._settings.openai_model):
            async with heartbeating():
                completion = await self._call_provider(prompt)
        return await self._book_and_finish(request, completion, language, charge_key)

    async def _write_offline(
        self,
        request: GeneratePostInput,
        context: ProjectContext,
        prompt: Prompt,
        language: str,
        charge_key: str,
    ) -> GeneratedPost:
        title, content = write_offline(
            context=context,
            source_text=request.source_text,
            options=request.options,
            language=language,
        )
        # Priced as if the configured model had read the prompt and written this text.
        usage = TokenUsage(
            input_tokens=estimate_tokens(prompt.text), output_tokens=estimate_tokens(content)
        )
        cost = await self._book(request, charge_key, usage, writer="offline", response_id=None)
        return GeneratedPost(
            title=title,
            content=content,
            language=language,
            model=self._settings.openai_model,
            writer="offline",
            usage=usage,
            cost_nanos=cost,
        )

    async def _call_provider(self, prompt: Prompt) -> ChatCompletion:
        assert self._client is not None
        import openai  # loaded already with the client (connections.make_openai_client)

        rejected = (
            openai.BadRequestError,
            openai.AuthenticationError,
            openai.PermissionDeniedError,
            openai.NotFoundError,
            openai.UnprocessableEntityError,
            openai.ConflictError,
        )
        try:
            return await self._client.chat.completions.create(
                model=self._settings.openai_model,
                messages=prompt.messages(),  # type: ignore[arg-type]
                max_tokens=self._settings.llm_max_output_tokens,
                timeout=self._settings.llm_timeout_seconds,
            )
        except rejected as err:
            activity.logger.warning("provider rejected the request: %s", err)
            raise ApplicationError(
                JOB_ERROR_MESSAGES[PROVIDER_REJECTED], type=PROVIDER_REJECTED, non_retryable=True
            ) from err
        except openai.RateLimitError as err:
            raise ApplicationError(
                "The AI provider is rate limiting us.",
                type=PROVIDER_UNAVAILABLE,
                next_retry_delay=_retry_after(err),
            ) from err
        except (openai.APIConnectionError, openai.APIStatusError) as err:
            # Connection errors, timeouts, 5xx and other statuses: worth another attempt.
            raise ApplicationError(
                f"The AI provider failed: {type(err).__name__}", type=PROVIDER_UNAVAILABLE
            ) from err
        except (openai.APIResponseValidationError, ValueError) as err:
            raise ApplicationError(
                "The AI provider sent a malformed answer.", type=GENERATION_FAILED
            ) from err

    async def _book_and_finish(
        self, request: GeneratePostInput, completion: ChatCompletion, language: str, charge_key: str
    ) -> GeneratedPost:
        usage = _usage_of(completion)
        cost = 0
        if usage is not None:
            cost = await self._book(
                request, charge_key, usage, writer="openai", response_id=completion.id
            )
        choice = completion.choices[0] if completion.choices else None
        message = choice.message if choice else None
        if (
            choice is not None
            and choice.finish_reason == "content_filter"
            or (message is not None and message.refusal)
        ):
            raise ApplicationError(
                JOB_ERROR_MESSAGES[PROVIDER_REJECTED], type=PROVIDER_REJECTED, non_retryable=True
            )
        text = (message.content if message else None) or ""
        if not text.strip():
            raise ApplicationError("The AI provider returned no text.", type=GENERATION_FAILED)
        title, content = finalize_post(
            text,
            max_length=request.options.max_length or LINKEDIN_MAX_CHARS,
            hashtags=[] if request.options.include_hashtags else None,
        )
        return GeneratedPost(
            title=title,
            content=content,
            language=language,
            model=completion.model or self._settings.openai_model,
            writer="openai",
            usage=usage or TokenUsage(),
            cost_nanos=cost,
        )

    async def _book(
        self,
        request: GeneratePostInput,
        key: str,
        usage: TokenUsage,
        *,
        writer: str,
        response_id: str | None,
    ) -> int:
        model = self._settings.openai_model
        cost = self._settings.llm_prices[model].cost_nanos(
            input_tokens=usage.input_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            output_tokens=usage.output_tokens,
        )
        booked = await ledger.record_charge(
            db=self._db,
            job_id=request.job_id,
            key=key,
            cost_nanos=cost,
            details={
                "model": model,
                "writer": writer,
                "response_id": response_id,
                **usage.model_dump(),
            },
            now=datetime.now(UTC),
        )
        if booked:
            record_llm_usage(
                model=model, writer=writer, mode=request.mode, usage=usage, cost_nanos=cost
            )
            activity.logger.info(
                "booked an LLM call (%s): %d input and %d output tokens, %d nanodollars",
                writer,
                usage.input_tokens,
                usage.output_tokens,
                cost,
                extra={
                    "writer": writer,
                    "model": model,
                    "input_tokens": usage.input_tokens,
                    "output_tokens": usage.output_tokens,
                    "cost_nanos": cost,
                },
            )
        return cost


def _usage_of(completion: ChatCompletion) -> TokenUsage | None:
    usage = completion.usage
    if usage is None:
        return None
    cached = getattr(usage.prompt_tokens_details, "cached_tokens", None) or 0
    reasoning = getattr(usage.completion_tokens_details, "reasoning_tokens", None) or 0
    return TokenUsage(
        input_tokens=usage.prompt_tokens or 0,
        cached_input_tokens=cached,
        output_tokens=usage.completion_tokens or 0,
        reasoning_tokens=reasoning,
    )


def _retry_after(err: openai.RateLimitError) -> timedelta | None:
    header = err.response.headers.get("retry-after") if err.response is not None else None
    try:
        seconds = float(header) if header is not None else None
    except ValueError:
        seconds = None
    return timedelta(seconds=min(seconds, 120)) if seconds and seconds > 0 else None
