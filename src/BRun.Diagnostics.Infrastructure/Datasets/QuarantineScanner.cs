using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Pipeline;
using Dapper;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Datasets;

/// <summary>Which stored conversations a scan covers: one dataset, one run, or everything the user may see.</summary>
public sealed record ScanScope(string Kind, Guid? DatasetId = null, Guid? RunId = null)
{
    public static ScanScope All { get; } = new("all");

    public static ScanScope Dataset(Guid id) => new("dataset", DatasetId: id);

    public static ScanScope Run(Guid id) => new("run", RunId: id);
}

/// <summary>A scan's counts so far. <see cref="Total"/> is the number of rows in scope when the scan started.</summary>
public sealed record ScanProgress(Guid ScanId, bool DryRun, string Status, long Total, long Scanned, long Flagged, long Quarantined, long KeptReleased);

/// <summary>A scan that is already running in another process (it holds the scan's lock).</summary>
public sealed class ScanBusyException(Guid scanId) : InvalidOperationException($"Scan {scanId} is running in another process.");

/// <summary>
/// Re-validates stored conversations with the current validator and moves each bad one to quarantine: in one
/// transaction the conversation leaves <c>conversations</c> and becomes a failed generation with source <c>scan</c>,
/// its finding, its original row id (<c>conversation_id</c>) and the whole row as it was (<c>quarantined_row</c>), so
/// nothing is lost and a person can release it back. Rows are visited in id order in batches; each batch commits
/// together with the scan's checkpoint (the last id done), so a scan killed at any point resumes where the last
/// commit left it and never moves a row twice. A dry run records what it would move and moves nothing.
/// Everything runs as the given user: row-level security decides which rows the scan sees and may move.
/// </summary>
public sealed class QuarantineScanner(IUserScopedConnectionFactory connections, ResponseValidator validator, FailedGenerationStore failures)
{
    /// <summary>Rows read and committed per transaction.</summary>
    public const int DefaultBatchSize = 500;

    private sealed record Row(Guid Id, string Model, string Turns, string Metadata, Guid? ReleasedFrom, Guid CreatedBy, Guid? DatasetId, Guid? RunId);

    private sealed record Moved(Guid FailureId, DateTimeOffset CreatedAt, Guid Owner, FailedGenerationInput Input);

    /// <summary>Records a new scan of the scope and counts the rows in it.</summary>
    public async Task<Guid> StartAsync(Guid user, ScanScope scope, bool dryRun, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var scanId = Guid.CreateVersion7();
        await using var connection = await connections.OpenAsync(DbIdentity.User(user), ct).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(
            $"""
            INSERT INTO scans (id, scope, dataset_id, run_id, dry_run, validator_version, total, created_by)
            SELECT @scanId, @Kind, @DatasetId, @RunId, @dryRun, @version, count(*), @user
            FROM conversations WHERE {ScopeFilter}
            """,
            new { scanId, scope.Kind, scope.DatasetId, scope.RunId, dryRun, version = ResponseValidator.Version, user },
            cancellationToken: ct)).ConfigureAwait(false);
        return scanId;
    }

    /// <summary>The newest unfinished scan of the same scope and kind by this user, to resume rather than start over.</summary>
    public async Task<Guid?> FindUnfinishedAsync(Guid user, ScanScope scope, bool dryRun, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(scope);
        await using var connection = await connections.OpenAsync(DbIdentity.User(user), ct).ConfigureAwait(false);
        return await connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(
            """
            SELECT id FROM scans
            WHERE created_by = @user AND status = 'running' AND scope = @Kind AND dry_run = @dryRun
              AND dataset_id IS NOT DISTINCT FROM @DatasetId AND run_id IS NOT DISTINCT FROM @RunId
            ORDER BY started_at DESC LIMIT 1
            """,
            new { user, scope.Kind, scope.DatasetId, scope.RunId, dryRun },
            cancellationToken: ct)).ConfigureAwait(false);
    }

    public async Task<ScanProgress?> GetAsync(Guid user, Guid scanId, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(DbIdentity.User(user), ct).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<ScanProgress>(new CommandDefinition(
            """
            SELECT id AS scanid, dry_run AS dryrun, status, total, scanned, flagged, quarantined, kept_released AS keptreleased
            FROM scans WHERE id = @scanId
            """,
            new { scanId },
            cancellationToken: ct)).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs (or resumes) the scan from its checkpoint to the end. Cancelling stops after the batch in flight is rolled
    /// back; the scan stays <c>running</c> and resumes from its last committed batch.
    /// </summary>
    /// <exception cref="ScanBusyException">Another process is running this scan.</exception>
    public async Task<ScanProgress> RunAsync(Guid user, Guid scanId, IProgress<ScanProgress>? progress, CancellationToken ct, int batchSize = DefaultBatchSize)
    {
        var identity = DbIdentity.User(user);

        // The lock lives as long as this connection; a killed process loses it with its connection.
        await using var lockConnection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        if (!await lockConnection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT pg_try_advisory_lock(hashtextextended('brun-scan:' || @scanId::text, 0))", new { scanId }, cancellationToken: ct)).ConfigureAwait(false))
        {
            throw new ScanBusyException(scanId);
        }

        try
        {
            return await RunLockedAsync(user, identity, scanId, lockConnection, progress, batchSize, ct).ConfigureAwait(false);
        }
        finally
        {
            // A pooled connection keeps its session (and this lock) while idle in the pool: release it now, even when
            // cancelled, so a resumed run on another pooled connection can take it.
            if (lockConnection.State == System.Data.ConnectionState.Open)
            {
                await lockConnection.ExecuteAsync(new CommandDefinition(
                    "SELECT pg_advisory_unlock(hashtextextended('brun-scan:' || @scanId::text, 0))", new { scanId }, cancellationToken: CancellationToken.None)).ConfigureAwait(false);
            }
        }
    }

    private async Task<ScanProgress> RunLockedAsync(
        Guid user, DbIdentity identity, Guid scanId, NpgsqlConnection lockConnection, IProgress<ScanProgress>? progress, int batchSize, CancellationToken ct)
    {
        var scan = await lockConnection.QuerySingleOrDefaultAsync<(string Kind, Guid? DatasetId, Guid? RunId, bool DryRun, Guid? Checkpoint, string Status)>(new CommandDefinition(
            "SELECT scope, dataset_id, run_id, dry_run, checkpoint, status FROM scans WHERE id = @scanId", new { scanId }, cancellationToken: ct)).ConfigureAwait(false);
        if (scan.Kind is null)
        {
            throw new InvalidOperationException($"No scan {scanId}.");
        }

        if (scan.Status == "running")
        {
            var scope = new ScanScope(scan.Kind, scan.DatasetId, scan.RunId);

            // The next batches are read (on their own connections) and validated while this one is written: a write
            // mostly waits on the database (statements, the commit's WAL flush), so the validator's work, the
            // database's and those waits overlap, on every core. Batches still commit one at a time, in id order,
            // each with its checkpoint.
            var reads = new Queue<(Guid UpTo, Task<(List<Row> Rows, ValidationFailure?[] Results)> Batch)>();
            var after = scan.Checkpoint;
            var planned = false;

            // A batch's report uploads run while the next batch is validated and written (they only follow their own
            // commit); the next batch's wait for them before starting their own, which bounds what is in flight.
            var uploads = Task.CompletedTask;
            try
            {
                while (true)
                {
                    while (!planned && reads.Count < ReadAhead)
                    {
                        var ids = await PlanBatchAsync(identity, scope, after, batchSize, ct).ConfigureAwait(false);
                        if (ids.Count == 0)
                        {
                            planned = true;
                            break;
                        }

                        reads.Enqueue((ids[^1], ReadAndValidateAsync(identity, scope, after, ids[^1], ct)));
                        after = ids[^1];
                        planned = ids.Count < batchSize;
                    }

                    if (!reads.TryDequeue(out var read))
                    {
                        break;
                    }

                    var (rows, results) = await read.Batch.ConfigureAwait(false);
                    var moved = await WriteBatchAsync(identity, scanId, scan.DryRun, read.UpTo, rows, results, ct).ConfigureAwait(false);
                    await uploads.ConfigureAwait(false);
                    uploads = UploadReportsAsync(moved, ct);
                    if (progress is not null)
                    {
                        progress.Report((await GetAsync(user, scanId, ct).ConfigureAwait(false))!);
                    }
                }

                await uploads.ConfigureAwait(false);
            }
            finally
            {
                await uploads.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

                // Reads (and validations) in flight when the scan stops are of no use; wait for them so nothing runs on
                // after this method.
                foreach (var (_, pending) in reads)
                {
                    await ((Task)pending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
        }

        await lockConnection.ExecuteAsync(new CommandDefinition(
            "UPDATE scans SET status = 'completed', finished_at = now(), updated_at = now() WHERE id = @scanId AND status = 'running'",
            new { scanId }, cancellationToken: ct)).ConfigureAwait(false);
        await RunEvents.PublishAsync(lockConnection, null, RunEvent.ForScan(RunEvent.ScanCompleted, scanId), ct).ConfigureAwait(false);
        return (await GetAsync(user, scanId, ct).ConfigureAwait(false))!;
    }

    /// <summary>
    /// Puts a quarantined conversation back into production, exactly as it was, and records who released it and why on
    /// the failed generation (which stays, as the record of the decision). Later scans keep a released row.
    /// </summary>
    /// <returns>The conversation id, or null when there is no unreleased quarantined row with that id for this user.</returns>
    public async Task<Guid?> ReleaseAsync(Guid user, Guid failureId, string reason, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        await using var connection = await connections.OpenAsync(DbIdentity.User(user), ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        var row = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            """
            UPDATE failed_generations SET released_at = now(), released_by = @user, release_reason = @reason
            WHERE id = @failureId AND source = 'scan' AND released_at IS NULL AND quarantined_row IS NOT NULL
            RETURNING quarantined_row::text
            """,
            new { user, reason, failureId }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        // The conversation's turns go back as written (migration 0112).
        var conversationId = await connection.ExecuteScalarAsync<Guid>(new CommandDefinition(
            """
            INSERT INTO conversations
            SELECT * FROM brun_conversation_from_quarantine(@row::jsonb, @failureId)
            RETURNING id
            """,
            new { row, failureId }, transaction, cancellationToken: ct)).ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        return conversationId;
    }

    private const string ScopeFilter = """
        (@Kind = 'all' OR (@Kind = 'dataset' AND dataset_id = @DatasetId) OR (@Kind = 'run' AND run_id = @RunId))
        """;

    /// <summary>Batches read ahead of the one being written.</summary>
    private static readonly int ReadAhead = Math.Max(2, Environment.ProcessorCount);

    /// <summary>The ids of the next batch: an index-only walk, cheap next to reading the rows.</summary>
    private async Task<List<Guid>> PlanBatchAsync(DbIdentity identity, ScanScope scope, Guid? after, int batchSize, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return (await connection.QueryAsync<Guid>(new CommandDefinition(
            $"""
            SELECT id FROM conversations
            WHERE (@after::uuid IS NULL OR id > @after) AND {ScopeFilter}
            ORDER BY id
            LIMIT @batchSize
            """,
            new { after, scope.Kind, scope.DatasetId, scope.RunId, batchSize },
            cancellationToken: ct)).ConfigureAwait(false)).AsList();
    }

    // No row locks: a dry run changes nothing, and a real scan's DELETE locks (and re-reads) each row it moves.
    // Locking every row read would write every tuple it passes.
    private async Task<List<Row>> ReadBatchAsync(DbIdentity identity, ScanScope scope, Guid? after, Guid upTo, CancellationToken ct)
    {
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return (await connection.QueryAsync<Row>(new CommandDefinition(
            $"""
            SELECT id, model, turns::text AS turns, metadata::text AS metadata, released_from AS releasedfrom,
                   created_by AS createdby, dataset_id AS datasetid, run_id AS runid
            FROM conversations
            WHERE (@after::uuid IS NULL OR id > @after) AND id <= @upTo AND {ScopeFilter}
            ORDER BY id
            """,
            new { after, upTo, scope.Kind, scope.DatasetId, scope.RunId },
            cancellationToken: ct)).ConfigureAwait(false)).AsList();
    }

    private async Task<(List<Row> Rows, ValidationFailure?[] Results)> ReadAndValidateAsync(DbIdentity identity, ScanScope scope, Guid? after, Guid upTo, CancellationToken ct)
    {
        var rows = await ReadBatchAsync(identity, scope, after, upTo, ct).ConfigureAwait(false);
        return (rows, await Task.Run(() => Validate(rows), ct).ConfigureAwait(false));
    }

    /// <summary>Validates a batch on every core (the validator is stateless); the texts are dropped as soon as each is judged.</summary>
    private ValidationFailure?[] Validate(List<Row> rows)
    {
        var found = new ValidationFailure?[rows.Count];
        Parallel.For(0, rows.Count, i => found[i] = validator.ValidateContent(StoredConversation.ContentJson(rows[i].Metadata, rows[i].Turns)).Failure);
        return found;
    }

    /// <returns>The failed generations the batch stored, whose reports are still to upload.</returns>
    private async Task<List<Moved>> WriteBatchAsync(DbIdentity identity, Guid scanId, bool dryRun, Guid upTo, List<Row> rows, ValidationFailure?[] results, CancellationToken ct)
    {
        var moved = new List<Moved>();
        await using (var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false))
        {
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            var flaggedRows = Enumerable.Range(0, rows.Count).Where(i => results[i] is not null).ToList();

            // One statement moves the batch's bad rows out; the DELETE locks each row and returns it as it was. The
            // row goes into jsonb without turns, whose text rides along as turns_text for the release to put back byte
            // for byte: parsed into jsonb, turns would lose its text as written, and a "\u0000" escape in it (which
            // json keeps and jsonb refuses) failed the whole batch.
            var quarantinedRows = new Dictionary<Guid, string>();
            var toMove = dryRun ? [] : flaggedRows.Where(i => rows[i].ReleasedFrom is null).Select(i => rows[i].Id).ToArray();
            if (toMove.Length > 0)
            {
                foreach (var (id, row) in await connection.QueryAsync<(Guid Id, string Row)>(new CommandDefinition(
                    """
                    DELETE FROM conversations c WHERE c.id = ANY(@toMove)
                    RETURNING c.id, ((to_jsonb(json_populate_record(c, '{"turns": null}')) - 'turns')
                        || jsonb_build_object('turns_text', c.turns::text))::text
                    """,
                    new { toMove }, transaction, cancellationToken: ct)).ConfigureAwait(false))
                {
                    quarantinedRows[id] = row;
                }
            }

            var findings = new List<(Guid ConversationId, Guid? FailureId, ValidationFailure Failure, string Action, Guid Owner)>();
            var toInsert = new List<NewFailedGeneration>();
            long quarantined = 0, keptReleased = 0;
            foreach (var i in flaggedRows)
            {
                var row = rows[i];
                var failure = results[i]!;
                if (row.ReleasedFrom is not null)
                {
                    findings.Add((row.Id, null, failure, "kept_released", row.CreatedBy));
                    keptReleased++;
                    continue;
                }

                if (dryRun)
                {
                    findings.Add((row.Id, null, failure, "would_quarantine", row.CreatedBy));
                    continue;
                }

                if (!quarantinedRows.TryGetValue(row.Id, out var quarantinedRow))
                {
                    // Gone since it was read (another scope's scan moved it): nothing to move, nothing to record.
                    continue;
                }

                var text = StoredConversation.ContentJson(row.Metadata, row.Turns);
                var input = new FailedGenerationInput
                {
                    Source = FailureSources.Scan,
                    ConversationId = row.Id,
                    DatasetId = row.DatasetId,
                    RunId = row.RunId,
                    Prompt = string.Empty,
                    Model = row.Model,
                    MaxTokens = 0,
                    RawBody = text,
                    ResponseContent = text,
                    HttpStatus = 0,
                    Streamed = false,
                    FailureType = failure.Type,
                    TruncationPattern = failure.Pattern,
                    TruncationDetails = failure.Details,
                    Confidence = failure.Confidence,
                    ErrorMessage = $"Quarantined by scan {scanId} (validator {ResponseValidator.Version}); was conversation {row.Id}.",
                };
                var (failureId, createdAt) = failures.NewIdentity();
                toInsert.Add(new NewFailedGeneration(input, failureId, createdAt, row.CreatedBy, scanId, quarantinedRow));
                moved.Add(new Moved(failureId, createdAt, row.CreatedBy, input));
                findings.Add((row.Id, failureId, failure, "quarantined", row.CreatedBy));
                quarantined++;
            }

            // One statement for the batch's failed generations: their count triggers are statement-level, and each row
            // is written whole (scan and moved row included) instead of inserted and then updated.
            await failures.InsertManyAsync(connection, transaction, toInsert, ct).ConfigureAwait(false);

            if (findings.Count > 0)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    """
                    INSERT INTO scan_findings (scan_id, conversation_id, failure_id, failure_type, pattern, confidence, details, action, created_by)
                    SELECT @scanId, f.conversation_id, f.failure_id, f.failure_type, f.pattern, f.confidence, f.details, f.action, f.owner
                    FROM unnest(@conversationIds, @failureIds, @types, @patterns, @confidences, @details, @actions, @owners)
                        AS f(conversation_id, failure_id, failure_type, pattern, confidence, details, action, owner)
                    ON CONFLICT (scan_id, conversation_id) DO NOTHING
                    """,
                    new
                    {
                        scanId,
                        conversationIds = findings.Select(f => f.ConversationId).ToArray(),
                        failureIds = findings.Select(f => f.FailureId).ToArray(),
                        types = findings.Select(f => f.Failure.Type.ToWire()).ToArray(),
                        patterns = findings.Select(f => f.Failure.Pattern).ToArray(),
                        confidences = findings.Select(f => f.Failure.Confidence.ToWire()).ToArray(),
                        details = findings.Select(f => f.Failure.Details).ToArray(),
                        actions = findings.Select(f => f.Action).ToArray(),
                        owners = findings.Select(f => f.Owner).ToArray(),
                    },
                    transaction, cancellationToken: ct)).ConfigureAwait(false);
            }

            // Checkpoint: the moves of this batch and the position after it commit together.
            await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE scans SET checkpoint = @upTo, scanned = scanned + @scanned, flagged = flagged + @flagged,
                    quarantined = quarantined + @quarantined, kept_released = kept_released + @keptReleased, updated_at = now()
                WHERE id = @scanId
                """,
                new { upTo, scanned = (long)rows.Count, flagged = (long)findings.Count, quarantined, keptReleased, scanId },
                transaction, cancellationToken: ct)).ConfigureAwait(false);

            // Delivered at commit to every listening dashboard, so a scan run by `brun scan` shows live there too.
            await RunEvents.PublishAsync(connection, transaction, RunEvent.ForScan(RunEvent.ScanProgressed, scanId), ct).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
        }

        return moved;
    }

    // The rows are committed; a report that cannot be uploaded now is left to the retrier. Uploads are network waits,
    // so a few go at once.
    private Task UploadReportsAsync(List<Moved> moved, CancellationToken ct) =>
        moved.Count == 0
            ? Task.CompletedTask
            : Parallel.ForEachAsync(
                moved,
                new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct },
                async (m, token) => await failures.UploadReportAsync(m.Owner, m.Input, m.FailureId, m.CreatedAt, token).ConfigureAwait(false));
}
