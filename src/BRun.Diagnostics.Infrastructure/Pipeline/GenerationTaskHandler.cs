using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.RateLimits;
using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Infrastructure.Pipeline;

/// <summary>
/// One task, end to end: call Claude, validate, and store the outcome. The fail-fast rule lives here: only a
/// response the validator accepts is written to <c>conversations</c>; everything else goes to
/// <c>failed_generations</c> with its report, and if that store fails the exception propagates so the task is
/// requeued rather than finished.
/// </summary>
public sealed partial class GenerationTaskHandler(
    IClaudeMessagesClient claude,
    ResponseValidator validator,
    FailedGenerationStore failures,
    GenerationOutcomeStore outcomes,
    RateLimitPacer pacer,
    ILogger<GenerationTaskHandler> logger) : IGenerationTaskHandler
{
    public async Task HandleAsync(ClaimedTask task, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(task);

        // Checkpoint: a redelivered task may have been stored before its worker died; finish it without paying
        // for a second generation.
        if (await outcomes.FindAsync(task.Id, ct).ConfigureAwait(false) is { } earlier)
        {
            Log.AlreadyStored(logger, task.Id);
            await outcomes.FinishStoredAsync(task.Id, earlier, ct).ConfigureAwait(false);
            return;
        }

        var request = new ClaudeRequest(task.Prompt)
        {
            Model = task.Model,
            MaxTokens = task.MaxTokens,
            Temperature = task.Temperature,
        };

        // Pacing: wait for room under the organisation's rate limits, shared by every worker; then tell the shared
        // state what the call really used (and about any 429). The permit lasts until the task is done.
        await using var permit = await pacer.AcquireAsync(request, ct).ConfigureAwait(false);
        var captured = await claude.SendAsync(request, ct).ConfigureAwait(false);
        await permit.SettleAsync(captured, ct).ConfigureAwait(false);
        var verdict = validator.Validate(captured);

        if (verdict is { IsOk: true, Conversation: { } conversation })
        {
            await outcomes.StoreConversationAsync(task, captured, conversation, ct).ConfigureAwait(false);
            return;
        }

        var failure = verdict.Failure
            ?? throw new InvalidOperationException("The validator rejected a response without saying why.");
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
            });

        // Checkpoint: the failure row (and, when blob storage is up, its report) is durable before the task is
        // finished. A crash in between is redelivered and caught by FindAsync above.
        var stored = await failures.StoreAsync(input, task.CreatedBy, ct).ConfigureAwait(false);
        Log.Rejected(logger, task.Id, failure.Type.ToWire(), failure.Pattern, captured.Parsed.StopReason ?? "(none)");
        await outcomes.FinishFailedAsync(task.Id, stored.Id, $"{failure.Type.ToWire()}: {failure.Pattern}", ct).ConfigureAwait(false);
    }

    public async Task GiveUpAsync(ClaimedTask task, Exception lastError, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(lastError);
        Log.GaveUp(logger, lastError, task.Id, task.Attempts);
        await outcomes.FinishFailedAsync(task.Id, null, $"gave up after {task.Attempts} deliveries: {lastError.Message}", ct).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4100, Level = LogLevel.Information, Message = "Task {TaskId} was stored by an earlier delivery; finishing it")]
        public static partial void AlreadyStored(ILogger logger, Guid taskId);

        [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Task {TaskId} rejected: {FailureType} ({Pattern}), stop_reason {StopReason}")]
        public static partial void Rejected(ILogger logger, Guid taskId, string failureType, string pattern, string stopReason);

        [LoggerMessage(EventId = 4102, Level = LogLevel.Error, Message = "Task {TaskId} given up after {Attempts} deliveries")]
        public static partial void GaveUp(ILogger logger, Exception exception, Guid taskId, int attempts);
    }
}
