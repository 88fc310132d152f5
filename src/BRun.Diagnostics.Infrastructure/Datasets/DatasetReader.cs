using BRun.Diagnostics.Infrastructure.Database;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Datasets;

/// <summary>
/// A dataset as the Datasets page lists it. <see cref="Rows"/> are its conversations in production,
/// <see cref="Quarantined"/> its rows a scan moved out and nobody released, <see cref="Simulated"/> its rows the
/// simulator made (never exported unless asked for).
/// </summary>
public sealed record DatasetSummary(Guid Id, string Name, string? OwnerEmail, long Rows, long Quarantined, long Simulated, long Imports, DateTime CreatedAt);

/// <summary>A scan as the page shows it. Times are UTC and come from the database clock.</summary>
public sealed record ScanSummary(
    Guid Id,
    string Scope,
    Guid? DatasetId,
    string? DatasetName,
    bool DryRun,
    string Status,
    long Total,
    long Scanned,
    long Flagged,
    long Quarantined,
    long KeptReleased,
    DateTime StartedAt,
    DateTime UpdatedAt,
    DateTime? FinishedAt)
{
    /// <summary>Rows per second from the start to the last committed batch; null before the first batch.</summary>
    public double? RatePerSecond
    {
        get
        {
            var seconds = (UpdatedAt - StartedAt).TotalSeconds;
            return Scanned > 0 && seconds > 0 ? Scanned / seconds : null;
        }
    }

    /// <summary>Time left at the rate so far; null when the scan is over or no rate is known yet.</summary>
    public TimeSpan? Eta => Status == "running" && RatePerSecond is { } rate
        ? TimeSpan.FromSeconds(Math.Max(0, Total - Scanned) / rate)
        : null;

    /// <summary>Share done, 0–100 (a scan of nothing is done).</summary>
    public double Percent => Total <= 0 ? (Status == "running" ? 0 : 100) : Math.Min(100, 100.0 * Scanned / Total);
}

/// <summary>One conversation a scan flagged, with the failed generation it became and, once released, who released it and why.</summary>
public sealed record ScanFindingRow(
    Guid ConversationId,
    Guid? FailureId,
    string FailureType,
    string Pattern,
    string Confidence,
    string Details,
    string Action,
    DateTime? ReleasedAt,
    string? ReleasedBy,
    string? ReleaseReason)
{
    /// <summary>Whether a person can still release it: quarantined and not released yet.</summary>
    public bool CanRelease => Action == "quarantined" && FailureId is not null && ReleasedAt is null;
}

/// <summary>
/// The Datasets page's read model (datasets with their counts, scans, a scan's findings). Every read runs as the
/// user, so row-level security decides what is listed: a member sees their own, an admin everyone's.
/// </summary>
public sealed class DatasetReader(IUserScopedConnectionFactory connections)
{
    /// <summary>How many scans the page lists.</summary>
    public const int ScansListed = 20;

    /// <summary>How many findings of one scan the page lists.</summary>
    public const int FindingsListed = 200;

    public async Task<IReadOnlyList<DatasetSummary>> ListDatasetsAsync(DbIdentity identity, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(identity);
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return (await connection.QueryAsync<DatasetSummary>(new CommandDefinition(
            """
            SELECT d.id AS Id, d.name AS Name, u.email AS OwnerEmail,
                   coalesce(c.rows, 0) AS Rows, coalesce(f.quarantined, 0) AS Quarantined, coalesce(c.simulated, 0) AS Simulated,
                   (SELECT count(*) FROM dataset_imports i WHERE i.dataset_id = d.id) AS Imports, d.created_at AS CreatedAt
            FROM datasets d
            LEFT JOIN app_users u ON u.id = d.created_by
            LEFT JOIN LATERAL (
                SELECT count(*) AS rows, count(*) FILTER (WHERE simulated) AS simulated FROM conversations WHERE dataset_id = d.id) c ON true
            LEFT JOIN LATERAL (
                SELECT count(*) AS quarantined FROM failed_generations
                WHERE dataset_id = d.id AND source = 'scan' AND released_at IS NULL) f ON true
            ORDER BY d.created_at DESC, d.id
            """,
            cancellationToken: ct)).ConfigureAwait(false)).AsList();
    }

    public async Task<IReadOnlyList<ScanSummary>> ListScansAsync(DbIdentity identity, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(identity);
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return (await connection.QueryAsync<ScanSummary>(new CommandDefinition(
            $"{ScanColumns} ORDER BY s.started_at DESC, s.id DESC LIMIT {ScansListed}",
            cancellationToken: ct)).ConfigureAwait(false)).AsList();
    }

    public async Task<ScanSummary?> GetScanAsync(DbIdentity identity, Guid scanId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(identity);
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<ScanSummary>(new CommandDefinition(
            $"{ScanColumns} WHERE s.id = @scanId", new { scanId }, cancellationToken: ct)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<ScanFindingRow>> ListFindingsAsync(DbIdentity identity, Guid scanId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(identity);
        await using var connection = await connections.OpenAsync(identity, ct).ConfigureAwait(false);
        return (await connection.QueryAsync<ScanFindingRow>(new CommandDefinition(
            $"""
            SELECT sf.conversation_id AS ConversationId, sf.failure_id AS FailureId, sf.failure_type AS FailureType, sf.pattern AS Pattern,
                   sf.confidence AS Confidence, sf.details AS Details, sf.action AS Action,
                   f.released_at AS ReleasedAt, u.email AS ReleasedBy, f.release_reason AS ReleaseReason
            FROM scan_findings sf
            LEFT JOIN failed_generations f ON f.id = sf.failure_id
            LEFT JOIN app_users u ON u.id = f.released_by
            WHERE sf.scan_id = @scanId
            ORDER BY sf.conversation_id
            LIMIT {FindingsListed}
            """,
            new { scanId }, cancellationToken: ct)).ConfigureAwait(false)).AsList();
    }

    private const string ScanColumns = """
        SELECT s.id AS Id, s.scope AS Scope, s.dataset_id AS DatasetId, d.name AS DatasetName, s.dry_run AS DryRun, s.status AS Status,
               s.total AS Total, s.scanned AS Scanned, s.flagged AS Flagged, s.quarantined AS Quarantined, s.kept_released AS KeptReleased,
               s.started_at AS StartedAt, s.updated_at AS UpdatedAt, s.finished_at AS FinishedAt
        FROM scans s LEFT JOIN datasets d ON d.id = s.dataset_id
        """;
}
