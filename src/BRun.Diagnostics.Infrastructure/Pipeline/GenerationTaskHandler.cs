using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Core.Pricing;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.RateLimits;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

/// <summary>
/// One delivery of a task, end to end: call Claude, record the call, then validate and store the outcome — or send
/// the task back to the queue after a transient API failure. The fail-fast rule lives here: only a response the
/// validator accepts is written to <c>conversations</c>; everything else goes to <c>failed_generations</c> with its
/// report, and if that store fails the exception propagates so the task is released rather than finished.
/// Every write is fenced by the delivery's attempt number (see <see cref="GenerationOutcomeStore"/>).
/// </summary>
public sealed partial class GenerationTaskHandler(
    IClaudeMessagesClient claude,
    ResponseValidator validator,
    GenerationCallStore calls,
    GenerationOutcomeStore outcomes,
    RateLimitPacer pacer,
    GenerationQueue queue,
    PriceTable prices,
    IOptions<ApiRetryOptions> retryOptions,
    ILogger<GenerationTaskHandler> logger) : IGenerationTaskHandler
{
    private readonly ApiRetryOptions _retry = retryOptions.Value;

    public async Task HandleAsync(ClaimedTask task, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(task);

        var history = await calls.ListAsync(task.Id, ct).ConfigureAwait(false);
        var last = history.Last;
        if (last is not null && last.DispositionValue != CallDisposition.Transient)
        {
            // Checkpoint: an earlier delivery captured a final answer and then could not store its outcome (storage
            // outage, crash, lost lease). Finish from the capture: Claude is never paid twice for one answer.
            Log.FinishingFromCapture(logger, task.Id, last.Attempt, task.Attempts);
        }
        else if (last is null || !IsBudgetSpent(history))
        {
            var captured = await CallClaudeAsync(task, ct).ConfigureAwait(false);
            var previousWasBare = last is not null && CallClassifier.IsBareRateLimit(last.HttpStatus, last.HeaderValues);
            var verdict = CallClassifier.Classify(captured, previousWasBare);
            var cost = prices.Cost(captured.Parsed.Model ?? captured.Request.Model, captured.Parsed.Usage)?.Total;

            // Checkpoint: the capture is durable before it is judged. From here a crash, a lost lease or a storage
            // outage costs a redelivery, not another Claude call.
            last = await calls.RecordAsync(task, captured, verdict, cost, ct).ConfigureAwait(false);
            history = history.Append(last);

            if (verdict.Disposition == CallDisposition.Transient && !IsBudgetSpent(history))
            {
                var delay = NextDelay(history, captured.RateLimitHeaders);
                if (await queue.RetryLaterAsync(task, delay, $"{verdict.Reason}; retrying in {delay:c}", ct).ConfigureAwait(false))
                {
                    Log.RetryScheduled(logger, task.Id, verdict.Reason, captured.HttpStatus, captured.RequestId, delay, history.Calls.Count);
                }
                else
                {
                    Log.StaleDelivery(logger, task.Id, task.Attempts);
                }

                return;
            }
        }

        // Otherwise the last call was transient and the budget is spent: it ends as an api_error failure below.
        await FinishFromCaptureAsync(task, last, history, ct).ConfigureAwait(false);
    }

    public async Task GiveUpAsync(ClaimedTask task, Exception lastError, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(lastError);
        Log.GaveUp(logger, lastError, task.Id, task.DeliveryErrors + 1);
        await outcomes.GiveUpAsync(task, $"gave up after {task.DeliveryErrors + 1} failed deliveries: {lastError.Message}", ct).ConfigureAwait(false);
    }

    private async Task<CapturedResponse> CallClaudeAsync(ClaimedTask task, CancellationToken ct)
    {
        var request = GenerationRequests.For(task.Prompt, task.Model, task.MaxTokens, task.Temperature) with { CachePrefixLength = task.CachePrefixLength };

        // Pacing: wait for room under the organisation's rate limits, shared by every worker; then tell the shared
        // state what the call really used (and about any 429).
        await using var permit = await pacer.AcquireAsync(request, ct).ConfigureAwait(false);
        var captured = await claude.SendAsync(request, ct).ConfigureAwait(false);
        await permit.SettleAsync(captured, ct).ConfigureAwait(false);
        return captured;
    }

    // last: the call to finish from (a response, a permanent error, or a transient one with the budget spent).
    private async Task FinishFromCaptureAsync(ClaimedTask task, GenerationCall? last, CallHistory history, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(last);
        var captured = last.ToCaptured(task.Prompt);
        var verdict = validator.Validate(captured);
        var taskCost = history.TotalCost;
        if (last.DispositionValue == CallDisposition.Response && verdict is { IsOk: true, Conversation: { } conversation })
        {
            if (await outcomes.StoreConversationAsync(task, captured, conversation, taskCost, ct).ConfigureAwait(false) is null)
            {
                Log.StaleDelivery(logger, task.Id, task.Attempts);
            }

            return;
        }

        var failure = verdict.Failure
            ?? throw new InvalidOperationException("The validator rejected a response without saying why.");
        if (last.DispositionValue != CallDisposition.Response)
        {
            // An API error: permanent, or transient with the budget spent. Always api_error, whatever the body looked
            // like (a 200 stream that died before any content reads as a cut otherwise).
            var why = last.DispositionValue == CallDisposition.Permanent
                ? $"permanent: {last.Reason}"
                : $"retry budget spent after {history.Calls.Count} calls over {history.Age:c} (last: {last.Reason})";
            failure = failure with
            {
                Type = FailureType.ApiError,
                Details = $"{failure.Details} Not retried: {why}. Calls: {DescribeCalls(history)}.",
            };
        }

        var input = FailedGenerationInputFactory.FromCapture(
            captured,
            failure.Type,
            failure.Pattern,
            failure.Details,
            failure.Confidence,
            new FailureContext
            {
                RunId = task.RunId,
                TaskId = task.Id,
                Scaffolding = new ScaffoldingIds(task.PersonaId, task.EmotionalArcId, task.TrainingTopicId, task.TemplateId),
            }) with
        {
            CostUsd = taskCost,
            Simulated = history.Simulated,
            ApiAttempts = history.ToApiAttempts(),
        };

        // Checkpoint: the failure row and the task's end commit together; the report follows (or the retrier uploads it).
        if (await outcomes.StoreFailureAsync(task, input, $"{failure.Type.ToWire()}: {failure.Pattern}", ct).ConfigureAwait(false) is null)
        {
            Log.StaleDelivery(logger, task.Id, task.Attempts);
            return;
        }

        Log.Rejected(logger, task.Id, failure.Type.ToWire(), failure.Pattern, captured.Parsed.StopReason ?? "(none)");
    }

    private bool IsBudgetSpent(CallHistory history) =>
        history.Calls.Count >= _retry.MaxAttempts || history.Age >= _retry.MaxAge;

    /// <summary>The server's retry-after when it names one (capped), else exponential backoff with jitter.</summary>
    private TimeSpan NextDelay(CallHistory history, IReadOnlyDictionary<string, string> headers)
    {
        var failedCalls = history.Calls.Count(c => c.DispositionValue == CallDisposition.Transient);
        var named = ClaudeRetryRules.RetryAfter(headers, TimeSpan.MaxValue, new DateTimeOffset(history.DbNow, TimeSpan.Zero));
        if (named is { } wait)
        {
            // A little jitter on top, so tasks told the same instant do not all return at once.
            var capped = wait < _retry.MaxRetryAfter ? wait : _retry.MaxRetryAfter;
            return capped + TimeSpan.FromMilliseconds(capped.TotalMilliseconds * 0.1 * Random.Shared.NextDouble());
        }

        return ClaudeRetryRules.Backoff(failedCalls - 1, _retry.BaseDelay, _retry.MaxDelay, Random.Shared.NextDouble());
    }

    private static string DescribeCalls(CallHistory history) =>
        string.Join(", ", history.Calls.Select(c => $"#{c.Attempt} HTTP {c.HttpStatus} {c.RequestId ?? "(no request id)"} {c.Disposition}"));

    private static partial class Log
    {
        [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Task {TaskId} rejected: {FailureType} ({Pattern}), stop_reason {StopReason}")]
        public static partial void Rejected(ILogger logger, Guid taskId, string failureType, string pattern, string stopReason);

        [LoggerMessage(EventId = 4102, Level = LogLevel.Error, Message = "Task {TaskId} given up after {Errors} failed deliveries")]
        public static partial void GaveUp(ILogger logger, Exception exception, Guid taskId, int errors);

        [LoggerMessage(EventId = 7001, Level = LogLevel.Information,
            Message = "Task {TaskId}: finishing from the answer captured by delivery {CapturedBy} (this is delivery {Attempt}); Claude is not called again")]
        public static partial void FinishingFromCapture(ILogger logger, Guid taskId, int capturedBy, int attempt);

        [LoggerMessage(EventId = 7002, Level = LogLevel.Warning,
            Message = "Task {TaskId}: {Reason} (HTTP {Status}, request {RequestId}); back to the queue for {Delay} (call {Calls})")]
        public static partial void RetryScheduled(ILogger logger, Guid taskId, string reason, int status, string? requestId, TimeSpan delay, int calls);

        [LoggerMessage(EventId = 7003, Level = LogLevel.Warning,
            Message = "Task {TaskId}: delivery {Attempt} no longer owns the task (its lease lapsed and it was delivered again); nothing stored")]
        public static partial void StaleDelivery(ILogger logger, Guid taskId, int attempt);
    }
}
