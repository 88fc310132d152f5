using System.Data;
using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Live;

/// <summary>
/// One run as the dashboard shows it: counters, the owner, how many tasks finished recently (for throughput), what it
/// cost so far (all calls, and the part spent on failed generations), and whether the simulator answered any call.
/// Times are UTC.
/// </summary>
public sealed record RunProgressRow(
    Guid Id,
    Guid CreatedBy,
    string OwnerEmail,
    string OwnerName,
    DateTime CreatedAt,
    DateTime? StartedAt,
    DateTime? FinishedAt,
    string Model,
    int MaxTokens,
    decimal? Temperature,
    string TemplateName,
    string Status,
    int Total,
    int Succeeded,
    int Failed,
    int Cancelled,
    int InFlight,
    int Pending,
    int FinishedInWindow,
    decimal CostUsd = 0,
    decimal FailedCostUsd = 0,
    bool Simulated = false,
    string Mode = RunMode.Online,
    decimal OnlineEquivalentCostUsd = 0,
    Guid? SourceRunId = null);

/// <summary>A run and its failure counts, read from one snapshot.</summary>
public sealed record RunWithFailures(RunProgressRow Run, FailureFacets Failures);

/// <summary>A prompt template a run can be created from.</summary>
public sealed record PromptTemplateOption(Guid Id, string Name);

/// <summary>
/// The dashboard's read side of runs. Every query runs on a connection opened for the caller's
/// <see cref="DbIdentity"/>, so row-level security shows a member only their runs (an admin all of them).
/// Live updates carry ids only and re-read through here.
/// </summary>
public sealed class RunProgressReader(IUserScopedConnectionFactory connections)
{
    private const string RowSql = """
        SELECT r.id, r.created_by AS createdby, u.email AS owneremail, u.display_name AS ownername,
               r.created_at AS createdat, r.started_at AS startedat, r.finished_at AS finishedat,
               r.model, r.max_tokens AS maxtokens, r.temperature, COALESCE(p.name, '(not visible)') AS templatename, r.status,
               r.total, r.succeeded, r.failed, r.cancelled,
               (SELECT count(*)::int FROM generation_tasks t WHERE t.run_id = r.id AND t.state = 'running') AS inflight,
               (SELECT count(*)::int FROM generation_tasks t WHERE t.run_id = r.id AND t.state = 'available') AS pending,
               (SELECT count(*)::int FROM generation_tasks t
                WHERE t.run_id = r.id AND t.state IN ('succeeded', 'failed') AND t.finished_at >= @windowStart) AS finishedinwindow,
               r.cost_usd AS costusd, r.failed_cost_usd AS failedcostusd,
               EXISTS (SELECT 1 FROM generation_calls c WHERE c.run_id = r.id AND c.simulated) AS simulated,
               r.mode, r.online_equivalent_cost_usd AS onlineequivalentcostusd,
               r.source_run_id AS sourcerunid
        FROM generation_runs r
        LEFT JOIN prompt_templates p ON p.id = r.template_id
        JOIN app_users u ON u.id = r.created_by
        """;

    /// <summary>The newest runs the identity may see. <paramref name="windowStart"/> bounds <see cref="RunProgressRow.FinishedInWindow"/>.</summary>
    public async Task<IReadOnlyList<RunProgressRow>> ListAsync(DbIdentity identity, int limit, DateTimeOffset windowStart, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var connection = await connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<RunProgressRow>(new CommandDefinition(
            RowSql + " ORDER BY r.created_at DESC, r.id LIMIT @limit",
            new { limit, windowStart },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.AsList();
    }

    /// <summary>
    /// A page of the runs the identity may see, newest first, optionally only those in <paramref name="status"/>, with the
    /// total in the same round trip.
    /// </summary>
    public async Task<Page<RunProgressRow>> PageAsync(
        DbIdentity identity, string? status, PageRequest page, DateTimeOffset windowStart, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        var where = status is null ? string.Empty : " WHERE r.status = @status";
        await using var connection = await connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        await using var results = await connection.QueryMultipleAsync(new CommandDefinition(
            $"SELECT count(*) FROM generation_runs r{where};\n" + RowSql + where + " ORDER BY r.created_at DESC, r.id LIMIT @limit OFFSET @offset",
            new { status, limit = page.PageSize, offset = (long)page.PageIndex * page.PageSize, windowStart },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        var total = await results.ReadSingleAsync<long>().ConfigureAwait(false);
        var rows = (await results.ReadAsync<RunProgressRow>().ConfigureAwait(false)).AsList();
        return new Page<RunProgressRow>(rows, total, page.PageIndex, page.PageSize);
    }

    /// <summary>The run, or null when it does not exist or the identity may not see it.</summary>
    public async Task<RunProgressRow?> GetAsync(DbIdentity identity, Guid runId, DateTimeOffset windowStart, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<RunProgressRow>(new CommandDefinition(
            RowSql + " WHERE r.id = @runId",
            new { runId, windowStart },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>
    /// The run and its failures counted by type, stop reason and pattern, read in one REPEATABLE READ transaction:
    /// both come from the same snapshot, so the run's <c>failed</c> counter and the breakdown's total agree even while
    /// workers are committing failures (each failure row and its task counter commit together). Null when the
    /// identity may not see the run.
    /// </summary>
    public async Task<RunWithFailures?> GetWithFailuresAsync(
        DbIdentity identity, Guid runId, DateTimeOffset windowStart, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<RunProgressRow>(new CommandDefinition(
            RowSql + " WHERE r.id = @runId",
            new { runId, windowStart },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        var failures = await FailedGenerationReader.QueryFacetsAsync(
            connection, transaction, new FailedGenerationFilter { RunId = runId }, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new RunWithFailures(row, failures);
    }

    public async Task<IReadOnlyList<PromptTemplateOption>> ListTemplatesAsync(DbIdentity identity, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        var rows = await connection.QueryAsync<PromptTemplateOption>(new CommandDefinition(
            "SELECT id, name FROM prompt_templates WHERE archived_at IS NULL ORDER BY name, owner_id IS NOT NULL",
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.AsList();
    }
}
