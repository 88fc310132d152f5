using System.Text;
using System.Threading.Channels;
using System.Text.Json;
using BRun.Diagnostics.Core.Conversations;
using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Core.Pricing;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Telemetry;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Batches;

/// <summary>The batch lease moved to another worker while this one was ingesting; it stops and lets that one finish.</summary>
public sealed class BatchLeaseLostException : Exception
{
    public BatchLeaseLostException()
        : base("The batch lease was lost to another worker.")
    {
    }

    public BatchLeaseLostException(string message)
        : base(message)
    {
    }

    public BatchLeaseLostException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// A results download ended before one line per request: read again from the checkpoint rather than sending the
/// requests it lacked again (which bills them again).
/// </summary>
public sealed class BatchResultsShortException(long lines, long expected)
    : IOException($"The results ended after {lines} of {expected} lines (one per request); they are read again from the checkpoint.")
{
    public long Lines { get; } = lines;
    public long Expected { get; } = expected;
}

/// <summary>
/// Streams a batch's results file line by line (never whole) and handles each line as an online response: the line is
/// the raw body; <c>succeeded</c> goes through <see cref="ResponseValidator"/>, so a max_tokens cut or cut text is a
/// failure like any other; <c>errored</c> transient and <c>canceled</c>/<c>expired</c> are resubmitted (unless the
/// run was cancelled or the task is out of attempts); a permanent error is an api_error failure.
/// Every line of ours is recorded in <c>generation_calls</c> (the durable capture of issue 8A: raw line, usage, batch
/// cost, simulated), and the run's cost moves with that record, once per (task, delivery).
/// <para>
/// Lines are handled in chunks of <see cref="BatchOptions.IngestChunkSize"/>, one transaction each, rather than
/// through <see cref="GenerationOutcomeStore"/> a task at a time: 100,000 results at the target rate leave about a
/// millisecond per result on this machine, less than one transaction's round trips. The chunk follows the same fencing
/// rule: each task is moved out of <c>running</c> first, conditioned on <c>id AND attempts = attempt from the
/// custom_id AND state = 'running'</c> (and this batch), and only the tasks that moved get an outcome, in the same
/// transaction; timestamps use the database clock. A line handled twice (a restart after a kill) changes nothing the
/// second time.
/// </para>
/// </summary>
public sealed partial class BatchResultIngester(
    IUserScopedConnectionFactory connections,
    ResponseValidator validator,
    FailedGenerationStore failures,
    PriceTable prices,
    IOptions<BatchOptions> options,
    IOptions<ClaudeOptions> claude,
    ILogger<BatchResultIngester> logger,
    DiagnosticsMetrics? metrics = null)
{
    private readonly BatchOptions _options = options.Value;

    /// <summary>What ingestion did, in lines.</summary>
    public sealed record IngestSummary(long Lines, int Stored, int Failed, int Resubmitted, int Cancelled, int Skipped);

    /// <param name="batch">The leased batch; <see cref="MessageBatchRow.ResultsLinesDone"/> lines are skipped.</param>
    /// <param name="results">The JSONL stream.</param>
    /// <param name="keepLease">Renews the lease after each chunk; false stops ingestion.</param>
    /// <param name="ct">Cancels between chunks (a chunk's transaction is all or nothing).</param>
    /// <param name="simulated">The download carried <c>x-brun-simulated: true</c>; every row built from it is marked.</param>
    /// <param name="expectedLines">
    /// The batch's requests (one results line each, as the API promises); a download with fewer lines throws
    /// <see cref="BatchResultsShortException"/> before its last chunk, unless <see cref="MessageBatchRow.ResultsShortReads"/>
    /// says it is the last download allowed. Null: not checked.
    /// </param>
    public async Task<IngestSummary> IngestAsync(
        MessageBatchRow batch, Stream results, bool simulated, Func<CancellationToken, Task<bool>> keepLease, CancellationToken ct, long? expectedLines = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(keepLease);

        var totals = new Totals();
        var chunks = Channel.CreateBounded<PreparedChunk>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);

        // Reading, parsing, matching and validating the next chunk overlap the transaction of this one, and the first
        // half of a chunk's transaction (calls, stored tasks, conversations) overlaps the second half and commit of the
        // chunk before it. Chunks still commit one at a time in file order: a chunk's second half starts only after
        // the chunk before it committed, so the checkpoint and the fence work as before. At most four chunks are in
        // memory (one committing, one in its first half, one ready, one being read).
        var reading = Task.Run(() => ReadAsync(batch, results, simulated, expectedLines, chunks.Writer, stop.Token), stop.Token);
        Task? committing = null;
        HashSet<Guid> committingTasks = [];
        try
        {
            await foreach (var chunk in chunks.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                var tasks = chunk.Observed.Select(i => i.Task.Id).ToHashSet();
                if (committing is not null && committingTasks.Overlaps(tasks))
                {
                    // A task in both chunks (a duplicated line): each transaction would wait on the other's row lock.
                    await CommittedAsync(committing, keepLease, ct).ConfigureAwait(false);
                    committing = null;
                }

                var open = await BeginChunkAsync(batch, chunk, simulated, ct).ConfigureAwait(false);
                try
                {
                    if (committing is not null)
                    {
                        await CommittedAsync(committing, keepLease, ct).ConfigureAwait(false);
                    }
                }
                catch
                {
                    await open.DisposeAsync().ConfigureAwait(false);
                    throw;
                }

                committing = CommitChunkAsync(batch, open, totals, ct);
                committingTasks = tasks;
            }

            if (committing is not null)
            {
                await committing.ConfigureAwait(false);
            }
        }
        catch
        {
            await stop.CancelAsync().ConfigureAwait(false);
            if (committing is not null)
            {
                // Let a commit in flight end (its outcome is already decided by the database); the first failure is reported.
                await Task.WhenAny(committing).ConfigureAwait(false);
                _ = committing.Exception;
            }

            try
            {
                await reading.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The reader stopped because ingestion did; the first failure is the one to report.
            }

            throw;
        }

        var lines = await reading.ConfigureAwait(false);
        await GiveUpUnansweredAsync(batch, lines, simulated, totals, keepLease, ct).ConfigureAwait(false);
        return new IngestSummary(lines, totals.Stored, totals.Failed, totals.Resubmitted, totals.Cancelled, totals.Skipped);
    }

    /// <summary>
    /// Every line is in: tasks of the batch still running had no readable line. The end of ingestion sends them again,
    /// but a task on its last delivery is failed here instead (an api_error with result type <c>missing</c>, the
    /// unreadable line that names its custom_id as evidence when there is one), as a last expired or errored result
    /// is: otherwise a results file that is never readable would have them billed batch after batch without end.
    /// </summary>
    private async Task GiveUpUnansweredAsync(
        MessageBatchRow batch, long lines, bool simulated, Totals totals, Func<CancellationToken, Task<bool>> keepLease, CancellationToken ct)
    {
        List<BatchResultLine> missing;
        await using (var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false))
        {
            missing = [.. (await connection.QueryAsync<(string CustomId, string? Evidence)>(new CommandDefinition("""
                SELECT t.custom_id,
                       (SELECT u.text FROM message_batch_unreadable_lines u
                        WHERE u.batch_id = t.batch_id AND strpos(u.text, '"' || t.custom_id || '"') > 0
                        ORDER BY u.line LIMIT 1)
                FROM generation_tasks t
                WHERE t.batch_id = @batchId AND t.state = 'running' AND t.attempts >= @maxAttempts AND t.custom_id IS NOT NULL
                """, new { batchId = batch.Id, maxAttempts = _options.MaxAttempts }, cancellationToken: ct)).ConfigureAwait(false))
                .Select(t => new BatchResultLine { CustomId = t.CustomId, ResultType = BatchResultType.Missing, RawLine = t.Evidence ?? string.Empty })];
        }

        if (missing.Count == 0)
        {
            return;
        }

        if (!await keepLease(ct).ConfigureAwait(false))
        {
            throw new BatchLeaseLostException();
        }

        // The same path as a chunk of lines (the fence, the failure rows, the run's counters), with the checkpoint where it is.
        var chunk = await PrepareAsync(batch, missing, lines, [], simulated, final: true, ct).ConfigureAwait(false);
        await CommitChunkAsync(batch, await BeginChunkAsync(batch, chunk, simulated, ct).ConfigureAwait(false), totals, ct).ConfigureAwait(false);
    }

    /// <summary>Waits for the previous chunk's commit, then renews the lease (false: another worker has the batch).</summary>
    private static async Task CommittedAsync(Task committing, Func<CancellationToken, Task<bool>> keepLease, CancellationToken ct)
    {
        await committing.ConfigureAwait(false);
        if (!await keepLease(ct).ConfigureAwait(false))
        {
            throw new BatchLeaseLostException();
        }
    }

    /// <summary>A chunk read, matched to its tasks and decided, waiting for its transaction.</summary>
    private sealed record PreparedChunk(List<Item> Observed, long LastLine, IReadOnlyList<UnreadableLine> Unreadable, int Skipped, bool Final);

    /// <summary>A results line that could not be read: kept with the batch, so what the API sent is not lost.</summary>
    private sealed record UnreadableLine(long Line, string Reason, string Text);

    /// <summary>Reads the stream line by line into prepared chunks; returns the number of lines in the file.</summary>
    private async Task<long> ReadAsync(
        MessageBatchRow batch, Stream results, bool simulated, long? expectedLines, ChannelWriter<PreparedChunk> writer, CancellationToken ct)
    {
        try
        {
            var chunk = new List<BatchResultLine>(_options.IngestChunkSize);
            var unreadable = new List<UnreadableLine>();
            long line = 0;
            using var reader = new StreamReader(results, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: false, bufferSize: 64 * 1024);
            while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } text)
            {
                if (text.Length == 0)
                {
                    continue;
                }

                line++;
                if (line <= batch.ResultsLinesDone)
                {
                    continue;
                }

                // A full chunk goes once another line follows it, so a download's last line (which a cut leaves torn) is
                // always in the last chunk: that chunk is not stored when the download turns out short.
                if (chunk.Count + unreadable.Count >= _options.IngestChunkSize)
                {
                    await writer.WriteAsync(await PrepareAsync(batch, chunk, line - 1, unreadable, simulated, final: false, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
                    chunk = new List<BatchResultLine>(_options.IngestChunkSize);
                    unreadable = [];
                }

                try
                {
                    chunk.Add(BatchResultLine.Parse(text));
                }
                catch (FormatException ex)
                {
                    Log.UnreadableLine(logger, ex, batch.AnthropicBatchId, line);
                    unreadable.Add(new UnreadableLine(line, ex.Message, text));
                }
            }

            if (expectedLines is { } expected && line < expected && batch.ResultsShortReads + 1 < _options.MaxShortResultsReads)
            {
                throw new BatchResultsShortException(line, expected);
            }

            // Always a last chunk, even an empty one: its checkpoint covers trailing lines that were skipped.
            await writer.WriteAsync(await PrepareAsync(batch, chunk, line, unreadable, simulated, final: true, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            writer.Complete();
            return line;
        }
        catch (Exception ex)
        {
            writer.Complete(ex);
            throw;
        }
    }

    private sealed class Totals
    {
        public int Stored;
        public int Failed;
        public int Resubmitted;
        public int Cancelled;
        public int Skipped;
    }

    private sealed record TaskRow(
        Guid Id, int Attempts, string State, Guid? BatchId, string Prompt, Guid? PersonaId, Guid? EmotionalArcId, Guid? TrainingTopicId,
        Guid TemplateId, string Model, int MaxTokens, decimal? Temperature, Guid CreatedBy, string RunStatus);

    private enum Decision
    {
        Store,
        Fail,
        Resubmit,
        Cancel,
    }

    private sealed class Item(BatchResultLine line, TaskRow task, int attempt, bool owned)
    {
        public BatchResultLine Line { get; } = line;
        public TaskRow Task { get; } = task;
        public int Attempt { get; } = attempt;

        /// <summary>The line belongs to the task's current delivery in this batch: it may finish the task.</summary>
        public bool Owned { get; } = owned;
        public Decision Decision { get; set; }
        public Conversation? Conversation { get; set; }
        public CapturedResponse? Captured { get; set; }
        public FailedGenerationInput? Failure { get; set; }
        public Guid? FailureId { get; set; }

        /// <summary>What the result cost at the batch discount, and what it would have cost online; null without a price or usage.</summary>
        public decimal? Cost { get; set; }
        public decimal? OnlineCost { get; set; }
    }

    /// <summary>Matches a chunk's lines to their tasks and decides each owned line's outcome (CPU only after the match).</summary>
    private async Task<PreparedChunk> PrepareAsync(
        MessageBatchRow batch, List<BatchResultLine> lines, long lastLine, IReadOnlyList<UnreadableLine> unreadable, bool simulated, bool final, CancellationToken ct)
    {
        var skipped = new Totals { Skipped = unreadable.Count };
        var observed = lines.Count == 0 ? [] : await MatchAsync(batch, lines, skipped, ct).ConfigureAwait(false);

        // Validation is pure CPU and thread-safe: spread it over the cores while the database waits.
        Parallel.ForEach(observed, new ParallelOptions { CancellationToken = ct }, item =>
        {
            if (item.Line.ResultType == BatchResultType.Succeeded && item.Line.Parsed is { } message)
            {
                // Only processed results are billed; errored, canceled and expired requests cost nothing. Rounded as the
                // numeric(14,6) columns round, so the run's sums equal the sums of its rows.
                item.Cost = AsStored(prices.Cost(message.Model ?? item.Task.Model, message.Usage, batch: true)?.Total);
                item.OnlineCost = AsStored(prices.Cost(message.Model ?? item.Task.Model, message.Usage, batch: false)?.Total);
            }

            if (item.Owned)
            {
                Decide(batch, item, simulated);
            }
        });

        return new PreparedChunk(observed, lastLine, unreadable, skipped.Skipped, final);
    }

    /// <summary>A chunk's transaction between its two halves.</summary>
    private sealed class OpenChunk(PreparedChunk chunk, NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public PreparedChunk Chunk { get; } = chunk;
        public NpgsqlConnection Connection { get; } = connection;
        public NpgsqlTransaction Transaction { get; } = transaction;
        public Dictionary<(Guid TaskId, int Attempt), decimal?> Recorded { get; set; } = [];
        public List<Item> Stored { get; set; } = [];

        public async ValueTask DisposeAsync()
        {
            await Transaction.DisposeAsync().ConfigureAwait(false);
            await Connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The first half of a chunk's transaction: its calls, its stored tasks and their conversations. These touch only
    /// the chunk's own rows (new keys, its tasks), so they can run while the chunk before it commits. A line prepared
    /// while that chunk was being stored may have been finished by it meanwhile (a duplicated line): the fence turns
    /// it into a no-op.
    /// </summary>
    private async Task<OpenChunk> BeginChunkAsync(MessageBatchRow batch, PreparedChunk chunk, bool simulated, CancellationToken ct)
    {
        var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        OpenChunk? open = null;
        try
        {
            open = new OpenChunk(chunk, connection, await connection.BeginTransactionAsync(ct).ConfigureAwait(false));
            var transaction = open.Transaction;
            var items = chunk.Observed.Where(i => i.Owned).ToList();

            // Durable capture first: a line that was billed is recorded (and costed on the run) even when its delivery
            // no longer owns the task; (task, attempt) is unique, so a re-read line is not recorded or costed twice.
            open.Recorded = await RecordCallsAsync(connection, transaction, batch, chunk.Observed, simulated, ct).ConfigureAwait(false);
            open.Stored = await FinishAsync(connection, transaction, batch, items.Where(i => i.Decision == Decision.Store).ToList(), "succeeded", ct).ConfigureAwait(false);
            await InsertConversationsAsync(connection, transaction, batch, open.Stored, simulated, ct).ConfigureAwait(false);
            return open;
        }
        catch
        {
            if (open is not null)
            {
                await open.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>
    /// The second half and the commit: failures, cancellations, resubmissions, the run's counters and cost, and the
    /// line checkpoint. These share rows with other chunks (the run, the batch, the failure counts), so they start only
    /// after the chunk before committed.
    /// </summary>
    private async Task CommitChunkAsync(MessageBatchRow batch, OpenChunk open, Totals totals, CancellationToken ct)
    {
        await using var chunkTransaction = open;
        var connection = open.Connection;
        var transaction = open.Transaction;
        var observed = open.Chunk.Observed;
        var lastLine = open.Chunk.LastLine;
        var items = observed.Where(i => i.Owned).ToList();
        var recorded = open.Recorded;
        var stored = open.Stored;
        totals.Skipped += open.Chunk.Skipped;

        var failed = await FinishAsync(connection, transaction, batch, items.Where(i => i.Decision == Decision.Fail).ToList(), "failed", ct).ConfigureAwait(false);

        // The failure rows commit with their tasks' finish, so a kill leaves both or neither. Their reports are uploaded
        // by the report retrier (due at once): ingestion does not wait on blob storage a report at a time.
        if (failed.Count > 0)
        {
            await AttachCallHistoryAsync(connection, transaction, failed, ct).ConfigureAwait(false);
            var ids = await failures.StoreManyForRetrierAsync(connection, transaction, failed.Select(i => (i.Failure!, i.Task.CreatedBy)).ToList(), ct).ConfigureAwait(false);
            foreach (var item in failed)
            {
                item.FailureId = ids[item.Task.Id];
                Log.Rejected(logger, item.Task.Id, batch.AnthropicBatchId, item.Line.CustomId, item.Line.ResultType, item.Failure!.FailureType.ToWire(), item.Failure.TruncationPattern);
            }
        }

        var cancelled = await FinishAsync(connection, transaction, batch, items.Where(i => i.Decision == Decision.Cancel).ToList(), "cancelled", ct).ConfigureAwait(false);
        var resubmitted = await ResubmitAsync(connection, transaction, batch, items.Where(i => i.Decision == Decision.Resubmit).ToList(), ct).ConfigureAwait(false);

        // The run's cost moves with the calls recorded above (once per line); its failed cost with the tasks that
        // failed here (a batch task's only billed call is its succeeded line, so that line's cost is the task's).
        var costed = observed.Where(i => recorded.ContainsKey((i.Task.Id, i.Attempt))).ToList();
        var counters = await connection.QuerySingleAsync<(int Total, int Succeeded, int Failed, int Cancelled, string Status)>(new CommandDefinition("""
            UPDATE generation_runs SET succeeded = succeeded + @stored, failed = failed + @failed, cancelled = cancelled + @cancelled,
                   cost_usd = cost_usd + @cost, failed_cost_usd = failed_cost_usd + @failedCost,
                   online_equivalent_cost_usd = online_equivalent_cost_usd + @onlineCost
            WHERE id = @runId
            RETURNING total, succeeded, failed, cancelled, status
            """, new
        {
            runId = batch.RunId,
            stored = stored.Count,
            failed = failed.Count,
            cancelled = cancelled.Count,
            cost = recorded.Values.Sum(c => c ?? 0),
            failedCost = failed.Sum(i => i.Cost ?? 0),
            onlineCost = costed.Sum(i => i.OnlineCost ?? 0),
        }, transaction, cancellationToken: ct)).ConfigureAwait(false);

        // Checkpoint: the chunk's outcomes, its unreadable lines and the line count commit together, so a restart
        // resumes after this chunk. A line kept before (a chunk re-read after a lost commit) is not counted twice.
        var unreadable = open.Chunk.Unreadable;
        await connection.ExecuteAsync(new CommandDefinition("""
            WITH kept AS (
                INSERT INTO message_batch_unreadable_lines (batch_id, line, reason, text, text_nuls)
                SELECT @id, u.line, u.reason, u.text, CASE WHEN u.nuls = '' THEN NULL ELSE string_to_array(u.nuls, ',')::integer[] END
                FROM unnest(@lines, @reasons, @texts, @nuls) AS u(line, reason, text, nuls)
                ON CONFLICT (batch_id, line) DO NOTHING
                RETURNING 1)
            UPDATE message_batches
            SET results_lines_done = @lastLine, results_lines_unreadable = results_lines_unreadable + (SELECT count(*) FROM kept),
                ingest_state = 'ingesting', updated_at = now()
            WHERE id = @id
            """, new
        {
            id = batch.Id,
            lastLine,
            lines = unreadable.Select(u => u.Line).ToArray(),
            reasons = unreadable.Select(u => PostgresText.Storable(u.Reason)).ToArray(),
            texts = unreadable.Select(u => PostgresText.Storable(u.Text)).ToArray(),
            // Jagged positions do not pass through unnest (it flattens a two-dimensional array), so each goes as text.
            nuls = unreadable.Select(u => PostgresText.NulPositions(u.Text) is { } at ? string.Join(',', at) : string.Empty).ToArray(),
        }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        // Every chunk moves the batch's "results read" on the run page, even one whose lines were all sent again.
        if (observed.Count > 0)
        {
            await RunEvents.PublishAsync(connection, transaction, new RunEvent("batch_results", batch.RunId, Status: counters.Status, Total: counters.Total,
                Succeeded: counters.Succeeded, Failed: counters.Failed, Cancelled: counters.Cancelled), ct).ConfigureAwait(false);
        }

        if (resubmitted > 0 && _options.ResubmitOnline)
        {
            await GenerationQueue.NotifyWorkAsync(connection, ct).ConfigureAwait(false);
        }

        await transaction.CommitAsync(ct).ConfigureAwait(false);

        // Counted after the commit, as the online path counts its outcomes, so a rolled-back chunk counts nothing.
        if (metrics is not null)
        {
            foreach (var _ in stored)
            {
                metrics.TaskSucceeded();
            }

            foreach (var item in failed)
            {
                metrics.TaskFailed(item.Failure!.FailureType.ToWire(), item.Failure.TruncationPattern, item.Failure.StopReason);
            }

            metrics.TasksCancelled(cancelled.Count);
        }

        totals.Stored += stored.Count;
        totals.Failed += failed.Count;
        totals.Cancelled += cancelled.Count;
        totals.Resubmitted += resubmitted;
        totals.Skipped += observed.Count - stored.Count - failed.Count - cancelled.Count - resubmitted;
    }

    /// <summary>Pairs each line with its task; lines for another delivery, another batch or a finished task are not owned.</summary>
    private async Task<List<Item>> MatchAsync(MessageBatchRow batch, List<BatchResultLine> lines, Totals totals, CancellationToken ct)
    {
        var wanted = new Dictionary<Guid, (BatchResultLine Line, int Attempt)>(lines.Count);
        foreach (var line in lines)
        {
            if (BatchResultLine.TryReadCustomId(line.CustomId, out var taskId, out var attempt))
            {
                wanted[taskId] = (line, attempt);
            }
            else
            {
                Log.ForeignCustomId(logger, batch.AnthropicBatchId, line.CustomId);
                totals.Skipped++;
            }
        }

        await using var connection = await connections.OpenAsync(DbIdentity.System, ct).ConfigureAwait(false);
        var tasks = await connection.QueryAsync<TaskRow>(new CommandDefinition("""
            SELECT t.id AS Id, t.attempts AS Attempts, t.state AS State, t.batch_id AS BatchId, t.prompt AS Prompt,
                   t.persona_id AS PersonaId, t.emotional_arc_id AS EmotionalArcId, t.training_topic_id AS TrainingTopicId,
                   t.template_id AS TemplateId, r.model AS Model, r.max_tokens AS MaxTokens, r.temperature AS Temperature,
                   r.created_by AS CreatedBy, r.status AS RunStatus
            FROM generation_tasks t JOIN generation_runs r ON r.id = t.run_id
            WHERE t.id = ANY(@ids)
            """, new { ids = wanted.Keys.ToArray() }, cancellationToken: ct)).ConfigureAwait(false);

        var items = new List<Item>(wanted.Count);
        var found = 0;
        foreach (var task in tasks)
        {
            var (line, attempt) = wanted[task.Id];
            // Not owned: already handled (a line re-read after a restart) or a stale delivery. The fence would refuse
            // it anyway; it is only recorded as a call (if it was not already).
            items.Add(new Item(line, task, attempt, owned: task.State == "running" && task.BatchId == batch.Id && task.Attempts == attempt));
            found++;
        }

        // A custom_id of ours whose task no longer exists (its run was deleted).
        totals.Skipped += wanted.Count - found;

        return items;
    }

    private void Decide(MessageBatchRow batch, Item item, bool simulated)
    {
        var line = item.Line;
        var runCancelled = item.Task.RunStatus == Core.Pipeline.RunStatus.Cancelled;
        var outOfAttempts = item.Attempt >= _options.MaxAttempts;
        switch (line.ResultType)
        {
            case BatchResultType.Succeeded when line.Parsed is not null:
            {
                // A finished answer is kept even when the run was cancelled meanwhile: it was paid for.
                var captured = Capture(item, simulated);
                var verdict = validator.Validate(captured);
                if (verdict is { IsOk: true, Conversation: { } conversation })
                {
                    item.Decision = Decision.Store;
                    item.Captured = captured;
                    item.Conversation = conversation;
                    return;
                }

                FailWith(item, captured, verdict.Failure!, batch);
                return;
            }

            case BatchResultType.Errored when line.IsTransientError && !outOfAttempts:
                item.Decision = runCancelled ? Decision.Cancel : Decision.Resubmit;
                return;

            case BatchResultType.Errored when line.Parsed is not null:
            {
                var captured = Capture(item, simulated);
                var verdict = validator.Validate(captured);
                var failure = verdict.Failure ?? new ValidationFailure(FailureType.ApiError, "batch_errored", $"The batch errored this request: {line.ErrorType}.", Confidence.High);
                FailWith(item, captured, failure, batch, outOfAttempts && line.IsTransientError
                    ? $"{line.ErrorType} on each of {item.Attempt} deliveries; given up"
                    : null);
                return;
            }

            case BatchResultType.Canceled or BatchResultType.Expired when runCancelled:
                item.Decision = Decision.Cancel;
                return;

            case BatchResultType.Canceled or BatchResultType.Expired when !outOfAttempts:
                item.Decision = Decision.Resubmit;
                return;

            case BatchResultType.Missing when runCancelled:
                item.Decision = Decision.Cancel;
                return;

            case BatchResultType.Missing:
            {
                var captured = Capture(item, simulated) with
                {
                    HttpStatus = 0,
                    Parsed = new ParsedMessage
                    {
                        Kind = line.RawLine.Length == 0 ? BodyKind.Empty : BodyKind.NotJson,
                        ParseProblem = "no readable results line",
                    },
                };
                var failure = new ValidationFailure(FailureType.ApiError, "batch_no_readable_line",
                    $"The batch's results had no readable line for this request on delivery {item.Attempt}, its last; "
                    + (line.RawLine.Length == 0 ? "none named it." : "the unreadable line naming it is the raw body."), Confidence.High);
                FailWith(item, captured, failure, batch, $"no readable results line on delivery {item.Attempt} of {_options.MaxAttempts}; given up");
                return;
            }

            default:
            {
                // Out of attempts (or an unknown result type): an api_error failure that keeps the line as evidence.
                var captured = Capture(item, simulated) with
                {
                    Parsed = new ParsedMessage { Kind = BodyKind.UnexpectedShape, ParseProblem = $"batch result '{line.ResultType}'" },
                };
                var failure = new ValidationFailure(FailureType.ApiError, $"batch_{line.ResultType}",
                    $"The batch returned '{line.ResultType}' for this request on delivery {item.Attempt}; no more attempts.", Confidence.High);
                FailWith(item, captured, failure, batch, $"batch result '{line.ResultType}' on each of {item.Attempt} deliveries; given up");
                return;
            }
        }
    }

    private void FailWith(Item item, CapturedResponse captured, ValidationFailure failure, MessageBatchRow batch, string? errorMessage = null)
    {
        item.Decision = Decision.Fail;
        item.Captured = captured;
        var task = item.Task;
        item.Failure = FailedGenerationInputFactory.FromCapture(
            captured,
            failure.Type,
            failure.Pattern,
            failure.Details,
            failure.Confidence,
            new FailureContext
            {
                RunId = batch.RunId,
                TaskId = task.Id,
                Scaffolding = new ScaffoldingIds(task.PersonaId, task.EmotionalArcId, task.TrainingTopicId, task.TemplateId),
            },
            errorMessage) with
        {
            Batch = new BatchProvenance(batch.AnthropicBatchId ?? string.Empty, item.Line.CustomId, item.Line.ResultType),
            CostUsd = item.Cost,
            Simulated = captured.Simulated,
        };
    }

    /// <summary>The line as a captured response: the whole line is the raw body; the message inside it is what is judged.</summary>
    private CapturedResponse Capture(Item item, bool simulated)
    {
        var line = item.Line;
        var task = item.Task;
        return new CapturedResponse
        {
            HttpStatus = line.EquivalentHttpStatus,
            RawBody = line.RawLine,
            Streamed = false,
            Parsed = line.Parsed ?? new ParsedMessage { Kind = BodyKind.Empty },
            RequestId = line.Parsed?.BodyRequestId,
            Attempts = item.Attempt,
            Request = new RequestSnapshot(task.Model, task.MaxTokens, task.Temperature, claude.Value.StructuredOutputs, Stream: false, task.Prompt),
            Simulated = simulated,
        };
    }

    /// <summary>Moves tasks to a final state, fenced on (id, attempt, running, this batch). Returns the items it moved.</summary>
    private static async Task<List<Item>> FinishAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, MessageBatchRow batch, List<Item> items, string state, CancellationToken ct)
    {
        if (items.Count == 0)
        {
            return items;
        }

        var moved = (await connection.QueryAsync<Guid>(new CommandDefinition("""
            UPDATE generation_tasks t
            SET state = @state, finished_at = now(), updated_at = now(), last_error = i.last_error
            FROM unnest(@ids, @attempts, @errors) AS i(id, attempt, last_error)
            WHERE t.id = i.id AND t.attempts = i.attempt AND t.state = 'running' AND t.batch_id = @batchRowId
            RETURNING t.id
            """, new
        {
            state,
            batchRowId = batch.Id,
            ids = items.Select(i => i.Task.Id).ToArray(),
            attempts = items.Select(i => i.Attempt).ToArray(),
            errors = items.Select(i => i.Failure is { } f ? Truncate($"{f.FailureType.ToWire()}: {f.TruncationPattern} (batch {f.Batch?.ResultType})") : null).ToArray(),
        }, transaction, cancellationToken: ct)).ConfigureAwait(false)).ToHashSet();
        return items.Where(i => moved.Contains(i.Task.Id)).ToList();
    }

    private async Task<int> ResubmitAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, MessageBatchRow batch, List<Item> items, CancellationToken ct)
    {
        if (items.Count == 0)
        {
            return 0;
        }

        // Checkpoint: back to waiting with the attempt kept, so the next batch (or the online worker) sends attempt + 1.
        // The decision was taken before this transaction (while the previous chunk was stored): a run cancelled since
        // keeps the task running here, and the end of ingestion cancels it with its run (no line left to resubmit it).
        return await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE generation_tasks t
            SET state = 'available', batch_id = NULL, custom_id = NULL, updated_at = now(), force_online = @online,
                last_error = i.reason
            FROM unnest(@ids, @attempts, @reasons) AS i(id, attempt, reason)
            WHERE t.id = i.id AND t.attempts = i.attempt AND t.state = 'running' AND t.batch_id = @batchRowId
              AND NOT EXISTS (SELECT 1 FROM generation_runs r WHERE r.id = t.run_id AND r.status = 'cancelled')
            """, new
        {
            batchRowId = batch.Id,
            online = _options.ResubmitOnline,
            ids = items.Select(i => i.Task.Id).ToArray(),
            attempts = items.Select(i => i.Attempt).ToArray(),
            reasons = items.Select(i => $"batch {batch.AnthropicBatchId}: {i.Line.ResultType}{(i.Line.ErrorType is { } e ? " " + e : string.Empty)}; sent again").ToArray(),
        }, transaction, cancellationToken: ct)).ConfigureAwait(false);
    }

    private static Task InsertConversationsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, MessageBatchRow batch, List<Item> items, bool simulated, CancellationToken ct)
    {
        if (items.Count == 0)
        {
            return Task.CompletedTask;
        }

        return connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO conversations (run_id, task_id, model, stop_reason, input_tokens, output_tokens, turns, metadata,
                                       persona_id, emotional_arc_id, training_topic_id, template_id, created_by, created_at, cost_usd,
                                       simulated)
            SELECT @runId, c.task_id, c.model, c.stop_reason, c.input_tokens, c.output_tokens, c.turns::json, c.metadata::jsonb,
                   c.persona_id, c.arc_id, c.topic_id, c.template_id, @createdBy, now(), c.cost, @simulated
            FROM unnest(@taskIds, @models, @stopReasons, @inputTokens, @outputTokens, @turns, @metadata, @personaIds, @arcIds, @topicIds, @templateIds, @costs)
                 AS c(task_id, model, stop_reason, input_tokens, output_tokens, turns, metadata, persona_id, arc_id, topic_id, template_id, cost)
            ON CONFLICT (task_id) DO NOTHING
            """, new
        {
            runId = batch.RunId,
            createdBy = batch.CreatedBy,
            simulated,
            taskIds = items.Select(i => i.Task.Id).ToArray(),
            models = items.Select(i => i.Captured!.Parsed.Model ?? i.Task.Model).ToArray(),
            stopReasons = items.Select(i => i.Captured!.Parsed.StopReason).ToArray(),
            inputTokens = items.Select(i => i.Captured!.Parsed.Usage.InputTokens).ToArray(),
            outputTokens = items.Select(i => i.Captured!.Parsed.Usage.OutputTokens).ToArray(),
            turns = items.Select(i => TrainingRecord.WriteTurns(i.Conversation!.Turns)).ToArray(),
            metadata = items.Select(i => PostgresText.StorableJsonb(JsonSerializer.Serialize(new
            {
                persona = i.Conversation!.Metadata.Persona,
                emotional_arc = i.Conversation.Metadata.EmotionalArc,
                training_topic = i.Conversation.Metadata.TrainingTopic,
                turn_count = i.Conversation.Metadata.TurnCount,
                batch_id = batch.AnthropicBatchId,
                custom_id = i.Line.CustomId,
            }))).ToArray(),
            personaIds = items.Select(i => i.Task.PersonaId).ToArray(),
            arcIds = items.Select(i => i.Task.EmotionalArcId).ToArray(),
            topicIds = items.Select(i => i.Task.TrainingTopicId).ToArray(),
            templateIds = items.Select(i => (Guid?)i.Task.TemplateId).ToArray(),
            costs = items.Select(i => i.Cost).ToArray(),
        }, transaction, cancellationToken: ct));
    }

    /// <summary>
    /// Records each line as the call of its delivery in <c>generation_calls</c>; returns the (task, attempt) pairs that
    /// were new, with the cost as stored (rounded by the column, so the run's cost is exactly the sum of its calls').
    /// Disposition: a succeeded line is a response to validate; errored overload/internal errors, canceled and
    /// expired are transient (sent again); other errors are permanent.
    /// </summary>
    private async Task<Dictionary<(Guid TaskId, int Attempt), decimal?>> RecordCallsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, MessageBatchRow batch, List<Item> items, bool simulated, CancellationToken ct)
    {
        if (items.Count == 0)
        {
            return [];
        }

        var structured = claude.Value.StructuredOutputs;
        var rows = await connection.QueryAsync<(Guid TaskId, int Attempt, decimal? Cost)>(new CommandDefinition("""
            INSERT INTO generation_calls (
                task_id, run_id, attempt, disposition, reason, http_status, request_id, streamed, raw_body, headers,
                http_attempts, model, max_tokens, temperature, structured_outputs_enabled, stream,
                input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens, cost_usd, simulated)
            SELECT c.task_id, @runId, c.attempt, c.disposition, c.reason, c.http_status, c.request_id, false, c.raw_body, '{}'::jsonb,
                   1, c.model, c.max_tokens, c.temperature, @structured, false,
                   c.input_tokens, c.output_tokens, c.cache_creation, c.cache_read, c.cost, @simulated
            FROM unnest(@taskIds, @attempts, @dispositions, @reasons, @statuses, @requestIds, @rawBodies, @models, @maxTokens,
                        @temperatures, @inputTokens, @outputTokens, @cacheCreation, @cacheRead, @costs)
                 AS c(task_id, attempt, disposition, reason, http_status, request_id, raw_body, model, max_tokens,
                      temperature, input_tokens, output_tokens, cache_creation, cache_read, cost)
            ON CONFLICT (task_id, attempt) DO NOTHING
            RETURNING task_id, attempt, cost_usd
            """, new
        {
            runId = batch.RunId,
            structured,
            simulated,
            taskIds = items.Select(i => i.Task.Id).ToArray(),
            attempts = items.Select(i => i.Attempt).ToArray(),
            dispositions = items.Select(i => Disposition(i.Line).ToWire()).ToArray(),
            reasons = items.Select(i => i.Line.ResultType == BatchResultType.Succeeded
                ? null
                : $"batch {batch.AnthropicBatchId}: {i.Line.ResultType}{(i.Line.ErrorType is { } e ? " " + e : string.Empty)}").ToArray(),
            statuses = items.Select(i => i.Line.EquivalentHttpStatus).ToArray(),
            requestIds = items.Select(i => i.Line.Parsed?.BodyRequestId).ToArray(),
            rawBodies = items.Select(i => PostgresText.Storable(i.Line.RawLine)).ToArray(),
            models = items.Select(i => i.Line.Parsed?.Model ?? i.Task.Model).ToArray(),
            maxTokens = items.Select(i => i.Task.MaxTokens).ToArray(),
            temperatures = items.Select(i => i.Task.Temperature).ToArray(),
            inputTokens = items.Select(i => i.Line.Parsed?.Usage.InputTokens).ToArray(),
            outputTokens = items.Select(i => i.Line.Parsed?.Usage.OutputTokens).ToArray(),
            cacheCreation = items.Select(i => i.Line.Parsed?.Usage.CacheCreationInputTokens).ToArray(),
            cacheRead = items.Select(i => i.Line.Parsed?.Usage.CacheReadInputTokens).ToArray(),
            costs = items.Select(i => i.Cost).ToArray(),
        }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        return rows.ToDictionary(r => (r.TaskId, r.Attempt), r => r.Cost);
    }

    private static CallDisposition Disposition(BatchResultLine line) => line.ResultType switch
    {
        BatchResultType.Succeeded => CallDisposition.Response,
        BatchResultType.Errored when !line.IsTransientError => CallDisposition.Permanent,
        _ => CallDisposition.Transient,
    };

    /// <summary>Puts every call of each failing task (earlier expired or errored deliveries included) on its failure.</summary>
    private static async Task AttachCallHistoryAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<Item> failed, CancellationToken ct)
    {
        var calls = await connection.QueryAsync<CallRow>(new CommandDefinition("""
            SELECT task_id AS TaskId, attempt AS Attempt, created_at AS CreatedAt, http_status AS HttpStatus, request_id AS RequestId,
                   disposition AS Disposition, reason AS Reason, cost_usd AS CostUsd
            FROM generation_calls WHERE task_id = ANY(@ids) ORDER BY created_at, attempt
            """, new { ids = failed.Select(i => i.Task.Id).ToArray() }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        var byTask = calls.ToLookup(c => c.TaskId, c => new GenerationCall
        {
            Attempt = c.Attempt,
            CreatedAt = c.CreatedAt,
            HttpStatus = c.HttpStatus,
            RequestId = c.RequestId,
            Disposition = c.Disposition,
            Reason = c.Reason,
            CostUsd = c.CostUsd,
        }.ToApiAttempt());
        foreach (var item in failed)
        {
            item.Failure = item.Failure! with { ApiAttempts = [.. byTask[item.Task.Id]] };
        }
    }

    private sealed class CallRow
    {
        public Guid TaskId { get; init; }
        public int Attempt { get; init; }
        public DateTime CreatedAt { get; init; }
        public int HttpStatus { get; init; }
        public string? RequestId { get; init; }
        public string Disposition { get; init; } = "response";
        public string? Reason { get; init; }
        public decimal? CostUsd { get; init; }
    }

    private static decimal? AsStored(decimal? cost) => cost is { } value ? Math.Round(value, 6, MidpointRounding.AwayFromZero) : null;

    private static string? Truncate(string? text) => text is null || text.Length <= 2000 ? text : text[..2000];

    private static partial class Log
    {
        [LoggerMessage(EventId = 7110, Level = LogLevel.Warning, Message = "Batch {BatchId}: results line {Line} is unreadable and was skipped")]
        public static partial void UnreadableLine(ILogger logger, Exception exception, string? batchId, long line);

        [LoggerMessage(EventId = 7111, Level = LogLevel.Warning, Message = "Batch {BatchId}: custom_id {CustomId} is not one of ours; skipped")]
        public static partial void ForeignCustomId(ILogger logger, string? batchId, string customId);

        [LoggerMessage(EventId = 7112, Level = LogLevel.Warning, Message = "Task {TaskId} rejected from batch {BatchId} ({CustomId}, batch said {ResultType}): {FailureType} ({Pattern})")]
        public static partial void Rejected(ILogger logger, Guid taskId, string? batchId, string customId, string resultType, string failureType, string? pattern);
    }
}
