using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Infrastructure.Claude;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Batches;

/// <summary>
/// Runs batch-mode runs through the Message Batches API, in every worker process at once without stepping on itself:
/// <list type="bullet">
/// <item>Submit: a run's waiting tasks are split by the count and byte limits; each batch's intent (row + tasks) commits
/// before its POST, so a crash is reconciled against the API's batch list instead of posting twice.</item>
/// <item>Poll: a batch is polled by one worker at a time (a lease on its row, database clock), on a schedule stored in
/// the row, so more workers do not mean more polls; the interval backs off while nothing changes.</item>
/// <item>Ingest: an ended batch's results are streamed and handled in chunks by <see cref="BatchResultIngester"/>, with
/// a checkpoint per chunk; a killed worker's batch is picked up by another after the lease and resumed there.</item>
/// <item>Cancel: a cancelled run's batches are cancelled at the API; what had finished is still stored.</item>
/// </list>
/// </summary>
public sealed partial class BatchCoordinator(
    MessageBatchStore store,
    IClaudeBatchesClient client,
    BatchResultIngester ingester,
    IOptions<BatchOptions> options,
    IOptions<ClaudeOptions> claude,
    TimeProvider time,
    ILogger<BatchCoordinator> logger) : BackgroundService
{
    private readonly BatchOptions _options = options.Value;

    /// <summary>This process's name in batch leases.</summary>
    public string WorkerId { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:batch:{Guid.NewGuid().ToString("N")[..6]}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.Started(logger, WorkerId);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await TickAsync(stoppingToken).ConfigureAwait(false);
                await Task.Delay(_options.TickInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }

        Log.Stopped(logger, WorkerId);
    }

    /// <summary>One round: submit waiting tasks, reconcile unconfirmed submissions, poll and ingest due batches.</summary>
    public async Task TickAsync(CancellationToken ct)
    {
        await Guarded(SubmitWaitingAsync, "submit", ct).ConfigureAwait(false);
        await Guarded(ReconcileAsync, "reconcile", ct).ConfigureAwait(false);
        await Guarded(PollDueAsync, "poll", ct).ConfigureAwait(false);
    }

    private async Task Guarded(Func<CancellationToken, Task> step, string name, CancellationToken ct)
    {
        try
        {
            await step(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or ClaudeBatchApiException or HttpRequestException or IOException or TimeoutException
                                       or System.Text.Json.JsonException or BatchLeaseLostException)
        {
            // The database or the API is away, or another worker took over: the next tick tries again.
            Log.StepFailed(logger, ex, name);
        }
    }

    private async Task SubmitWaitingAsync(CancellationToken ct)
    {
        foreach (var runId in await store.RunsWithWaitingTasksAsync(ct).ConfigureAwait(false))
        {
            while (await store.RecordIntentAsync(runId, _options.MaxRequestsPerBatch, _options.MaxBatchBytes, ParamsFor, ct).ConfigureAwait(false) is { } submission)
            {
                if (!await SubmitAsync(submission, ct).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
    }

    /// <summary>POSTs a recorded batch. False when the API refused it (its tasks were put back or failed).</summary>
    private async Task<bool> SubmitAsync(BatchSubmission submission, CancellationToken ct)
    {
        MessageBatchInfo info;
        try
        {
            info = await client.CreateAsync(submission.Body, ct).ConfigureAwait(false);
        }
        catch (ClaudeBatchApiException ex) when (ex.OutcomeUnknown)
        {
            // The POST may have created it: leave the intent pending; reconciliation decides after ReconcileAfter.
            Log.SubmitUnknown(logger, ex, submission.RunId, submission.Seq);
            await store.RecordSubmitErrorAsync(submission.BatchRowId, ex.Message, CancellationToken.None).ConfigureAwait(false);
            return false;
        }
        catch (ClaudeBatchApiException ex)
        {
            // The API answered no: nothing was created. A transient refusal (429, 529) is retried on a later tick;
            // a permanent one (invalid request) would fail the same way again, so its tasks fail.
            Log.SubmitRefused(logger, ex, submission.RunId, submission.Seq, ex.Status);
            await store.AbandonAsync(submission.BatchRowId, ex.Message, failTasks: !ex.IsTransient, CancellationToken.None).ConfigureAwait(false);
            return false;
        }

        // Checkpoint: the API holds the batch; from here only polling and ingestion touch it.
        await store.MarkSubmittedAsync(submission.BatchRowId, info, _options.MinPollInterval, CancellationToken.None).ConfigureAwait(false);
        Log.Submitted(logger, info.Id, submission.RunId, submission.Seq, submission.Body.Count, submission.Body.Length);
        return true;
    }

    private byte[] ParamsFor(BatchTaskParams task) => MessagesRequestBody.Write(
        new RequestSnapshot(task.Model, task.MaxTokens, task.Temperature, claude.Value.StructuredOutputs, Stream: false, task.Prompt),
        systemPrompt: null);

    /// <summary>
    /// Submissions whose POST was never confirmed: find the batch in the API's list (same request count, created within
    /// the submit window, not already ours). One match is adopted; none means the POST never arrived, so the tasks go
    /// back to waiting; more than one is left for a later look rather than guessed.
    /// </summary>
    private async Task ReconcileAsync(CancellationToken ct)
    {
        var pending = await store.PendingToReconcileAsync(_options.ReconcileAfter, ct).ConfigureAwait(false);
        if (pending.Count == 0)
        {
            return;
        }

        var oldest = pending.Min(p => p.SubmitStartedAt ?? DateTime.MaxValue);
        var listed = new List<MessageBatchInfo>();
        string? after = null;
        for (var page = 0; page < 50; page++)
        {
            var batches = await client.ListAsync(after, 100, ct).ConfigureAwait(false);
            listed.AddRange(batches.Data);
            if (!batches.HasMore || batches.Data.Count == 0 || batches.Data[^1].CreatedAt < new DateTimeOffset(oldest, TimeSpan.Zero).AddHours(-1))
            {
                break;
            }

            after = batches.LastId;
        }

        var known = new HashSet<string>(await store.KnownAnthropicIdsAsync(listed.Select(b => b.Id), ct).ConfigureAwait(false), StringComparer.Ordinal);
        var tolerance = TimeSpan.FromMinutes(2);
        foreach (var row in pending)
        {
            var started = new DateTimeOffset(row.SubmitStartedAt!.Value, TimeSpan.Zero);
            var candidates = listed.Where(b => !known.Contains(b.Id) && b.Total == row.RequestCount
                && b.CreatedAt >= started - tolerance && b.CreatedAt <= started + _options.ReconcileAfter + tolerance).ToList();
            switch (candidates.Count)
            {
                case 1:
                    await store.MarkSubmittedAsync(row.Id, candidates[0], TimeSpan.Zero, ct).ConfigureAwait(false);
                    known.Add(candidates[0].Id);
                    Log.ReconciledFound(logger, row.Id, candidates[0].Id);
                    break;
                case 0:
                    await store.AbandonAsync(row.Id, "the create was never confirmed and the API lists no such batch", failTasks: false, ct).ConfigureAwait(false);
                    Log.ReconciledAbsent(logger, row.Id, row.RunId);
                    break;
                default:
                    Log.ReconcileAmbiguous(logger, row.Id, candidates.Count);
                    break;
            }
        }
    }

    private async Task PollDueAsync(CancellationToken ct)
    {
        var due = await store.ClaimDueAsync(WorkerId, _options.PollLease, limit: 8, ct).ConfigureAwait(false);
        foreach (var batch in due)
        {
            try
            {
                await PollAsync(batch, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Shutting down: let another worker take it at once rather than after the lease.
                await store.PostponeAsync(batch.Id, WorkerId, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            catch (Exception ex) when (ex is ClaudeBatchApiException or HttpRequestException or IOException or TimeoutException or System.Text.Json.JsonException)
            {
                Log.PollFailed(logger, ex, batch.AnthropicBatchId);
                if (ex is BatchResultsShortException)
                {
                    await store.RecordShortReadAsync(batch.Id, ct).ConfigureAwait(false);
                }

                await store.PostponeAsync(batch.Id, WorkerId, NextPoll(batch.PollCount), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task PollAsync(MessageBatchRow batch, CancellationToken ct)
    {
        var id = batch.AnthropicBatchId!;
        if (batch.RunStatus == Core.Pipeline.RunStatus.Cancelled && !batch.CancelRequested && batch.ProcessingStatus != "ended")
        {
            // Checkpoint: recorded before the call, so the cancel is sent once; canceled results come back as lines.
            await store.MarkCancelRequestedAsync(batch.Id, ct).ConfigureAwait(false);
            await client.CancelAsync(id, ct).ConfigureAwait(false);
        }

        var info = await client.RetrieveAsync(id, ct).ConfigureAwait(false);
        if (!info.HasEnded)
        {
            var changed = info.Processing != batch.CountProcessing || info.ProcessingStatus != batch.ProcessingStatus;
            await store.RecordPollAsync(batch.Id, WorkerId, info, changed ? _options.MinPollInterval : NextPoll(batch.PollCount), ct).ConfigureAwait(false);
            return;
        }

        await store.SaveStatusAsync(batch.Id, info, ct).ConfigureAwait(false);
        Log.Ingesting(logger, id, batch.ResultsLinesDone, info.Total);
        var download = await client.OpenResultsAsync(id, info.ResultsUrl, ct).ConfigureAwait(false);
        await using (download.ConfigureAwait(false))
        {
            var summary = await ingester.IngestAsync(
                batch,
                download.Content,
                download.Simulated,
                token => store.ExtendLeaseAsync(batch.Id, WorkerId, _options.PollLease, token),
                ct,
                expectedLines: info.Total).ConfigureAwait(false);
            await store.FinishIngestAsync(batch.Id, batch.RunId, summary.Lines, ct).ConfigureAwait(false);
            Log.Ingested(logger, id, summary.Lines, summary.Stored, summary.Failed, summary.Resubmitted, summary.Cancelled, summary.Skipped);
        }
    }

    /// <summary>Backoff while a batch is unchanged: the floor times 1.5 per poll, up to the ceiling.</summary>
    private TimeSpan NextPoll(int pollCount)
    {
        var grown = _options.MinPollInterval.TotalMilliseconds * Math.Pow(1.5, Math.Min(pollCount, 30));
        return TimeSpan.FromMilliseconds(Math.Min(Math.Max(grown, _options.MinPollInterval.TotalMilliseconds), _options.MaxPollInterval.TotalMilliseconds));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7120, Level = LogLevel.Information, Message = "Batch coordinator {WorkerId} started")]
        public static partial void Started(ILogger logger, string workerId);

        [LoggerMessage(EventId = 7121, Level = LogLevel.Information, Message = "Batch coordinator {WorkerId} stopped")]
        public static partial void Stopped(ILogger logger, string workerId);

        [LoggerMessage(EventId = 7122, Level = LogLevel.Warning, Message = "Batch step {Step} failed; trying again next tick")]
        public static partial void StepFailed(ILogger logger, Exception exception, string step);

        [LoggerMessage(EventId = 7123, Level = LogLevel.Information, Message = "Submitted batch {BatchId} for run {RunId} (#{Seq}): {Count} requests, {Bytes} bytes")]
        public static partial void Submitted(ILogger logger, string batchId, Guid runId, int seq, int count, long bytes);

        [LoggerMessage(EventId = 7124, Level = LogLevel.Warning, Message = "Batch #{Seq} of run {RunId}: no answer to the create; it will be reconciled against the API's list")]
        public static partial void SubmitUnknown(ILogger logger, Exception exception, Guid runId, int seq);

        [LoggerMessage(EventId = 7125, Level = LogLevel.Warning, Message = "Batch #{Seq} of run {RunId} refused by the API (HTTP {Status})")]
        public static partial void SubmitRefused(ILogger logger, Exception exception, Guid runId, int seq, int status);

        [LoggerMessage(EventId = 7126, Level = LogLevel.Information, Message = "Unconfirmed batch row {BatchRowId} reconciled: the API has it as {BatchId}")]
        public static partial void ReconciledFound(ILogger logger, Guid batchRowId, string batchId);

        [LoggerMessage(EventId = 7127, Level = LogLevel.Warning, Message = "Unconfirmed batch row {BatchRowId} of run {RunId}: the API has no such batch; its tasks are sent again")]
        public static partial void ReconciledAbsent(ILogger logger, Guid batchRowId, Guid runId);

        [LoggerMessage(EventId = 7128, Level = LogLevel.Warning, Message = "Unconfirmed batch row {BatchRowId}: {Count} batches at the API could be it; left for a later look")]
        public static partial void ReconcileAmbiguous(ILogger logger, Guid batchRowId, int count);

        [LoggerMessage(EventId = 7129, Level = LogLevel.Warning, Message = "Polling batch {BatchId} failed; backing off")]
        public static partial void PollFailed(ILogger logger, Exception exception, string? batchId);

        [LoggerMessage(EventId = 7130, Level = LogLevel.Information, Message = "Batch {BatchId} ended; ingesting results from line {From} of {Total}")]
        public static partial void Ingesting(ILogger logger, string batchId, long from, int total);

        [LoggerMessage(EventId = 7131, Level = LogLevel.Information, Message = "Batch {BatchId} ingested: {Lines} lines, {Stored} stored, {Failed} failed, {Resubmitted} resubmitted, {Cancelled} cancelled, {Skipped} skipped")]
        public static partial void Ingested(ILogger logger, string batchId, long lines, int stored, int failed, int resubmitted, int cancelled, int skipped);
    }
}
