"""Writing the post: the OpenAI-compatible provider, or the offline writer.

Temporal owns retries: the client is built with ``max_retries=0`` and every failure is
translated here into an ``ApplicationError`` whose type says whether retrying can help.

Money, per attempt (see README, "Spend accounting"):

1. the attempt heartbeats for its whole body, so a slow database step never times it out
   (a timed-out attempt would be started again and pay for a second call);
2. an answer a previous attempt recorded in its heartbeat details is booked under that
   attempt's key (booked once, whatever happened after the answer) and, if it holds a
   post, reused instead of calling the provider again;
3. before the call, the job's hold is topped up to the call's worst case (prompt bound +
   ``max_tokens`` at the model's price) against the bucket of the UTC day of the call; a
   call that does not fit is not made (``spend_cap_exceeded``, not retryable). The
   attempt's bookkeeping (``start_attempt``) and this hold are one write transaction
   (``jobs.start_call``), after the context's read: an attempt opens two transactions
   before its call, not three;
4. the answer's usage is recorded in the heartbeat details, then booked;
5. when the workflow asks for it (``store_post``), the post is stored and the job settled
   DONE in the charge's own transaction (``jobs.charge_and_finish``): a billed call is
   booked with the post it wrote, or alone when the post cannot be stored or the job was
   finished first.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.context import ProjectVoice
from activities.context import unavailable as context_unavailable
from activities.db_steps import db_step, job_already_finished
from activities.heartbeat import Heartbeat, heartbeating
from activities.metrics import record_llm_usage, timed_llm_call
from activities.provider_errors import provider_failure
from activities.webhook_subscribers import SubscriberCheck
from config import Settings
from contracts import (
    GENERATION_FAILED,
    JOB_ERROR_MESSAGES,
    PROVIDER_NOT_CONFIGURED,
    PROVIDER_REJECTED,
    SPEND_CAP_EXCEEDED,
    STORAGE_REJECTED,
    GeneratedPost,
    GeneratePostInput,
    JobMode,
    ProjectContext,
    TokenUsage,
)
from db.engine import Database
from db.repo import jobs as jobs_repo
from db.repo import ledger
from db.repo.jobs import JobAlreadyFinished
from db.repo.posts import PostDraft
from domain.job_lifecycle import writing_message
from domain.linkedin import LINKEDIN_MAX_CHARS, finalize_post
from domain.offline_writer import write_offline
from domain.pricing import estimate_tokens, prompt_token_bound, worst_case_nanos
from domain.prompt import Prompt, build_prompt, resolve_language
from services.clock import Clock, SystemClock

if TYPE_CHECKING:
    # Only the worker calls the provider. The API imports this module too (through the
    # workflow), and loading the SDK there cost it ~14 MB and 0.3 s of start-up.
    import openai
    from openai.types.chat import ChatCompletion


class AnsweredCall(BaseModel):
    """One answered call, as recorded in the attempt's heartbeat details before booking."""

    charge_key: str
    day: date
    writer: Literal["openai", "offline"]
    model: str
    usage: TokenUsage | None
    cost_nanos: int
    response_id: str | None = None
    language: str
    title: str | None = None
    content: str | None = None
    # Why the answer is no post: (error type, message); None when it is one.
    failure: tuple[str, str] | None = None

    @property
    def is_post(self) -> bool:
        return self.failure is None and self.title is not None and self.content is not None


class LlmActivities:
    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        client: openai.AsyncOpenAI | None,
        clock: Clock | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._client = client
        self._clock = clock or SystemClock()
        self._voice = ProjectVoice(db)

    @activity.defn(name="generate_post")
    async def generate_post(self, request: GeneratePostInput) -> GeneratedPost:
        """Load the project's voice, then write the post with the LLM (live keys) or the
        offline writer (test keys)."""
        async with heartbeating() as heartbeat:
            return await self._generate(request, heartbeat)

    async def _generate(self, request: GeneratePostInput, heartbeat: Heartbeat) -> GeneratedPost:
        info = activity.info()
        previous = _previous_answer(info.heartbeat_details)
        if previous is not None:
            # Booked under the previous attempt's key: once, whichever attempt gets here.
            await self._book(request, previous)
        if previous is not None and previous.is_post:
            await self._start_attempt(request)
            # The provider wrote (and billed) this post already: no second call.
            activity.logger.info("reusing the post answered in a previous attempt")
            heartbeat.record(previous.model_dump(mode="json"))
            if request.store_post:
                return await self._book_and_store(request, previous)
            return self._finish(previous)
        if request.mode is JobMode.LIVE and self._client is None:
            await self._start_attempt(request)
            # A live key never gets an offline post: without a provider the job fails (not
            # retried: only a restart with the key configured can help), before any hold.
            raise ApplicationError(
                JOB_ERROR_MESSAGES[PROVIDER_NOT_CONFIGURED],
                type=PROVIDER_NOT_CONFIGURED,
                non_retryable=True,
            )
        # Read before the attempt's write (see activities/context.py): the worst case the
        # hold needs is the prompt's, and the prompt is built from the context.
        context = await db_step(
            lambda: self._voice.read(
                workspace_id=request.workspace_id,
                project_id=request.project_id,
                source_text=request.source_text,
            ),
            what="loading the project",
        )
        if context is None:
            # Counted like any attempt (and refused if the job is finished) before failing.
            await self._start_attempt(request)
            raise context_unavailable()
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
        day = await self._start_call(request, prompt, charge_key)
        if request.mode is JobMode.TEST:
            answer = self._write_offline(request, context, prompt, language, charge_key, day)
        else:
            with timed_llm_call(model=self._settings.openai_model):
                completion = await self._call_provider(prompt)
            answer = self._answer_of(request, completion, language, charge_key, day)
        # Recorded before booking: if booking never happens in this attempt (a crash, a
        # database outage longer than the step's budget), the next attempt books it.
        heartbeat.record(answer.model_dump(mode="json"))
        if request.store_post and answer.is_post:
            return await self._book_and_store(request, answer)
        await self._book(request, answer)
        return self._finish(answer)

    async def _start_attempt(self, request: GeneratePostInput) -> None:
        """Count an attempt that makes no call (one write)."""
        info = activity.info()
        await db_step(
            lambda: jobs_repo.start_attempt(
                db=self._db,
                job_id=request.job_id,
                run_id=info.workflow_run_id or "",
                message=writing_message(info.attempt),
                now=self._clock.now(),
            ),
            what="starting the attempt",
        )

    async def _start_call(self, request: GeneratePostInput, prompt: Prompt, key: str) -> date:
        """Count the attempt and top the job's hold up to this call's worst case on the
        call's UTC day, in one write transaction."""
        info = activity.info()
        price = self._settings.llm_prices[self._settings.openai_model]
        worst = worst_case_nanos(
            price,
            prompt_tokens=prompt_token_bound(prompt.messages()),
            max_output_tokens=self._settings.llm_max_output_tokens,
        )
        now = self._clock.now()
        try:
            started = await db_step(
                lambda: jobs_repo.start_call(
                    db=self._db,
                    job_id=request.job_id,
                    run_id=info.workflow_run_id or "",
                    message=writing_message(info.attempt),
                    hold_key=f"{key}:hold",
                    day=now.date(),
                    worst_case_nanos=worst,
                    now=now,
                ),
                what="starting the attempt and reserving the call's worst case",
            )
        except ledger.CapExceeded as err:
            activity.logger.warning(
                "the call's worst case (%d nanodollars) does not fit under the cap", worst
            )
            raise ApplicationError(
                JOB_ERROR_MESSAGES[SPEND_CAP_EXCEEDED],
                err.refusal.model_dump(mode="json"),
                type=SPEND_CAP_EXCEEDED,
                non_retryable=True,
            ) from err
        return started.hold.day

    def _write_offline(
        self,
        request: GeneratePostInput,
        context: ProjectContext,
        prompt: Prompt,
        language: str,
        charge_key: str,
        day: date,
    ) -> AnsweredCall:
        title, content = write_offline(
            context=context,
            source_text=request.source_text,
            options=request.options,
            language=language,
        )
        # Priced as if the configured model had read the prompt and written this text
        # (stopping at max_tokens, as the model would).
        usage = TokenUsage(
            input_tokens=estimate_tokens(prompt.text),
            output_tokens=min(estimate_tokens(content), self._settings.llm_max_output_tokens),
        )
        return AnsweredCall(
            charge_key=charge_key,
            day=day,
            writer="offline",
            model=self._settings.openai_model,
            usage=usage,
            cost_nanos=self._cost(usage),
            language=language,
            title=title,
            content=content,
        )

    async def _call_provider(self, prompt: Prompt) -> ChatCompletion:
        assert self._client is not None
        try:
            return await self._client.chat.completions.create(
                model=self._settings.openai_model,
                messages=prompt.messages(),  # type: ignore[arg-type]
                max_tokens=self._settings.llm_max_output_tokens,
                timeout=self._settings.llm_timeout_seconds,
            )
        except Exception as err:
            failure = provider_failure(err)
            if failure is None:
                raise
            raise failure from err

    def _answer_of(
        self,
        request: GeneratePostInput,
        completion: ChatCompletion,
        language: str,
        charge_key: str,
        day: date,
    ) -> AnsweredCall:
        usage = _usage_of(completion)
        answer: dict[str, Any] = {
            "charge_key": charge_key,
            "day": day,
            "writer": "openai",
            "model": completion.model or self._settings.openai_model,
            "usage": usage,
            "cost_nanos": self._cost(usage) if usage is not None else 0,
            "response_id": completion.id,
            "language": language,
        }
        choice = completion.choices[0] if completion.choices else None
        message = choice.message if choice else None
        text = (message.content if message else None) or ""
        if (choice is not None and choice.finish_reason == "content_filter") or (
            message is not None and message.refusal
        ):
            answer["failure"] = (PROVIDER_REJECTED, JOB_ERROR_MESSAGES[PROVIDER_REJECTED])
        elif not text.strip():
            answer["failure"] = (GENERATION_FAILED, "The AI provider returned no text.")
        else:
            answer["title"], answer["content"] = finalize_post(
                text,
                max_length=request.options.max_length or LINKEDIN_MAX_CHARS,
                hashtags=[] if request.options.include_hashtags else None,
            )
        return AnsweredCall.model_validate(answer)

    def _finish(
        self,
        answer: AnsweredCall,
        *,
        post_id: str | None = None,
        webhook_subscribers: bool = True,
    ) -> GeneratedPost:
        if answer.failure is not None:
            error_type, message = answer.failure
            raise ApplicationError(
                message, type=error_type, non_retryable=error_type == PROVIDER_REJECTED
            )
        assert answer.title is not None and answer.content is not None
        return GeneratedPost(
            title=answer.title,
            content=answer.content,
            language=answer.language,
            model=answer.model,
            writer=answer.writer,
            usage=answer.usage or TokenUsage(),
            cost_nanos=answer.cost_nanos,
            post_id=post_id,
            webhook_subscribers=webhook_subscribers,
        )

    def _cost(self, usage: TokenUsage) -> int:
        return self._settings.llm_prices[self._settings.openai_model].cost_nanos(
            input_tokens=usage.input_tokens,
            cached_input_tokens=usage.cached_input_tokens,
            output_tokens=usage.output_tokens,
        )

    async def _book(self, request: GeneratePostInput, answer: AnsweredCall) -> None:
        charge = _charge_of(answer)
        if charge is None:
            return  # the provider reported no usage: nothing to book
        now = self._clock.now()
        booked = await db_step(
            lambda: ledger.record_charge(
                db=self._db,
                job_id=request.job_id,
                key=charge.key,
                cost_nanos=charge.cost_nanos,
                details=charge.details,
                now=now,
                day=charge.day,
            ),
            what="booking the call",
        )
        if booked:
            self._booked(request, answer)

    async def _book_and_store(
        self, request: GeneratePostInput, answer: AnsweredCall
    ) -> GeneratedPost:
        """Book the call, store its post and settle the job DONE, in one transaction."""
        assert answer.title is not None and answer.content is not None
        post = PostDraft(
            workspace_id=request.workspace_id,
            mode=request.mode.value,
            project_id=request.project_id,
            title=answer.title,
            content=answer.content,
            language=answer.language,
            scheduled_at=request.scheduled_for,
        )
        subscribers = SubscriberCheck()
        try:
            charged = await db_step(
                lambda: jobs_repo.charge_and_finish(
                    db=self._db,
                    job_id=request.job_id,
                    charge=_charge_of(answer),
                    post=post,
                    now=self._clock.now(),
                    also=subscribers,
                ),
                what="booking the call and storing the post",
            )
        except ApplicationError as err:
            if err.type != STORAGE_REJECTED:
                raise
            # A post the database cannot take (a date past year 9999 in UTC, a NUL
            # character) rolled the whole transaction back: the call is booked alone, then
            # the job fails storage_rejected (the workflow settles it FAILED).
            await self._book(request, answer)
            raise
        if charged.booked:
            self._booked(request, answer)
        job = charged.job
        if not charged.finished:
            error = JobAlreadyFinished(job_id=job.id, status=job.status, post_id=job.post_id)
            activity.logger.warning("the job is %s already: the call is booked alone", job.status)
            raise job_already_finished(error)
        return self._finish(answer, post_id=job.post_id, webhook_subscribers=subscribers.subscribed)

    def _booked(self, request: GeneratePostInput, answer: AnsweredCall) -> None:
        """Count and log a call booked just now (not one booked by an earlier attempt)."""
        usage = answer.usage
        assert usage is not None
        record_llm_usage(
            model=answer.model,
            writer=answer.writer,
            mode=request.mode,
            usage=usage,
            cost_nanos=answer.cost_nanos,
        )
        activity.logger.info(
            "booked an LLM call (%s): %d input and %d output tokens, %d nanodollars",
            answer.writer,
            usage.input_tokens,
            usage.output_tokens,
            answer.cost_nanos,
            extra={
                "writer": answer.writer,
                "model": answer.model,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cost_nanos": answer.cost_nanos,
            },
        )


def _charge_of(answer: AnsweredCall) -> ledger.Charge | None:
    """The ledger entry of an answered call; None when the provider reported no usage."""
    if answer.usage is None:
        return None
    return ledger.Charge(
        key=answer.charge_key,
        cost_nanos=answer.cost_nanos,
        details={
            "model": answer.model,
            "writer": answer.writer,
            "response_id": answer.response_id,
            **answer.usage.model_dump(),
        },
        day=answer.day,
    )


def _previous_answer(details: Any) -> AnsweredCall | None:
    """The answer an earlier attempt recorded, if its last heartbeat carried one."""
    if not details:
        return None
    try:
        return AnsweredCall.model_validate(details[-1])
    except ValidationError:
        activity.logger.warning("ignoring unreadable heartbeat details of a previous attempt")
        return None


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
