using System.Text;
using Azure;
using BRun.Diagnostics.Core.Reports;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Blobs;
using BRun.Diagnostics.Infrastructure.Database;
using Dapper;
using Npgsql;
using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>
/// An error report file for download. <c>FromStorage</c> is false when the report was rebuilt from the row
/// (not uploaded yet, or missing from storage).
/// </summary>
public sealed record FailureReportFile(string FileName, byte[] Content, bool FromStorage);

/// <summary>
/// The read API over failed generations for the dashboard and the CLI: paged lists, details, statistics and
/// report downloads. Every read runs as the given identity, so row-level security decides what it sees.
/// </summary>
public sealed partial class FailedGenerationReader
{
    private readonly IUserScopedConnectionFactory _connections;
    private readonly IFailureReportBlobStore _blobs;
    private readonly ILogger<FailedGenerationReader> _logger;

    internal FailedGenerationReader(IUserScopedConnectionFactory connections, IFailureReportBlobStore blobs, ILogger<FailedGenerationReader> logger)
    {
        _connections = connections;
        _blobs = blobs;
        _logger = logger;
    }

    /// <summary>The row, or null when it does not exist or the identity may not see it.</summary>
    public async Task<FailedGeneration?> GetAsync(DbIdentity identity, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        return await connection.QuerySingleOrDefaultAsync<FailedGeneration>(new CommandDefinition(
            $"SELECT {FailedGeneration.Columns} FROM failed_generations WHERE id = @id",
            new { id },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>Newest first.</summary>
    public Task<Page<FailedGenerationSummary>> ListAsync(
        DbIdentity identity, FailedGenerationFilter filter, PageRequest page, CancellationToken cancellationToken) =>
        ListAsync(identity, filter, page, after: null, cancellationToken);

    /// <summary>
    /// One page, newest first: at <paramref name="page"/>'s offset, or (keyset) the rows after <paramref name="after"/>
    /// (then the page index must be 0). The total counts every match either way.
    /// </summary>
    public async Task<Page<FailedGenerationSummary>> ListAsync(
        DbIdentity identity, FailedGenerationFilter filter, PageRequest page, FailedGenerationCursor? after, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(page);
        page.Validate();
        if (after is not null && page.PageIndex != 0)
        {
            throw new ArgumentException("A keyset page has no page index.", nameof(page));
        }

        await using var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        filter = await ResolveTextSearchAsync(connection, null, filter, cancellationToken).ConfigureAwait(false);
        var (where, parameters) = BuildWhere(filter);
        var pageWhere = where;
        if (after is not null)
        {
            // The grid index (created_at DESC, id DESC) resumes right after the cursor's row; the count keeps every match.
            pageWhere = AndWhere(where, "(created_at, id) < (@afterAt, @afterId)");
            parameters.Add("afterAt", after.CreatedAtUtc);
            parameters.Add("afterId", after.Id);
        }

        // The count first: a page past the end, or a filter nothing matches, then needs no page query at all, and few
        // matches are read through the filters' indexes (ReadPageAsync).
        var (countSql, countParameters) = CountSql(filter);
        var total = await connection.ExecuteScalarAsync<long>(new CommandDefinition(countSql, countParameters, cancellationToken: cancellationToken)).ConfigureAwait(false);
        var rollupWhere = after is null && CanUseRollup(filter) ? BuildWhere(filter, rollup: true).Where : null;
        var items = await ReadPageAsync(connection, pageWhere, rollupWhere, parameters, FailedGenerationSort.NewestFirst, page, total, IsBroadSearch(filter), cancellationToken).ConfigureAwait(false);
        return new Page<FailedGenerationSummary>(items, total, page.PageIndex, page.PageSize);
    }

    /// <summary>Counts by failure type, stop reason and pattern: the same one-scan aggregate as the dashboard's chips.</summary>
    public async Task<FailureStatistics> GetStatisticsAsync(DbIdentity identity, FailedGenerationFilter filter, CancellationToken cancellationToken)
    {
        var facets = await GetFacetsAsync(identity, filter, cancellationToken).ConfigureAwait(false);
        return new FailureStatistics(facets.Total, facets.ByFailureType, facets.ByStopReason, facets.ByTruncationPattern);
    }

    /// <summary>
    /// The report file: from blob storage when uploaded, else rebuilt from the row (the report is deterministic, so
    /// the user gets the same file either way). Null when the row does not exist or is not visible.
    /// </summary>
    public async Task<FailureReportFile?> DownloadReportAsync(DbIdentity identity, Guid id, CancellationToken cancellationToken)
    {
        var row = await GetAsync(identity, id, cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            return null;
        }

        var fileName = FailureReportPath.FileName(row.RawFilePath ?? FailureReportPath.For(row.Id, row.CreatedAtOffset));
        var (stored, reason) = await OpenStoredReportAsync(row.ReportStatus, row.RawFilePath, cancellationToken).ConfigureAwait(false);
        if (stored is not null)
        {
            await using (stored.ConfigureAwait(false))
            {
                try
                {
                    using var copy = new MemoryStream();
                    await stored.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
                    return new FailureReportFile(fileName, copy.ToArray(), FromStorage: true);
                }
                catch (Exception ex) when (ex is RequestFailedException or IOException)
                {
                    // The body failed after the SDK's own retries: the row still holds everything, serve the rebuilt copy.
                    reason = ex.Message;
                }
            }
        }

        _logger.ReportRebuiltForDownload(row.Id, reason!);
        return new FailureReportFile(fileName, RebuildReport(row), FromStorage: false);
    }

    /// <summary>
    /// The one rule for which copy of a report is served (single download and archive alike): the blob when the
    /// row says it was uploaded and the blob is there, else null and the reason the row's rebuilt copy is used.
    /// </summary>
    private async Task<(Stream? Stored, string? RebuildReason)> OpenStoredReportAsync(
        string reportStatus, string? rawFilePath, CancellationToken cancellationToken)
    {
        if (reportStatus != ReportStatus.Uploaded || rawFilePath is null)
        {
            return (null, $"report status {reportStatus}");
        }

        try
        {
            var stored = await _blobs.OpenReadAsync(rawFilePath, cancellationToken).ConfigureAwait(false);
            return stored is null ? (null, "the blob is missing") : (stored, null);
        }
        catch (ReportStorageException ex)
        {
            // Storage is down: the row holds everything the report is made of, so the rebuilt copy is served.
            return (null, ex.Message);
        }
    }

    private static byte[] RebuildReport(FailedGeneration row) => ErrorReportBuilder.BuildBytes(row.ToInput(), row.Id, row.CreatedAtOffset);

    internal static (string Where, DynamicParameters Parameters) BuildWhere(FailedGenerationFilter filter, bool rollup = false) =>
        BuildWhere(filter, rollup ? FilterTable.Rollup : FilterTable.Rows);

    /// <summary>
    /// The WHERE clause of <paramref name="filter"/> on <paramref name="table"/>. On the rollup time is a UTC day
    /// (callers use it only for day-aligned bounds); on the search copy the chip values are one integer, so they are
    /// matched through failed_generation_dimensions, and the texts are stored lowered.
    /// </summary>
    internal static (string Where, DynamicParameters Parameters) BuildWhere(FailedGenerationFilter filter, FilterTable table)
    {
        // Only constant SQL fragments are appended; every value travels as a parameter.
        var rollup = table == FilterTable.Rollup;
        var clauses = new List<string>();
        var dimensions = table == FilterTable.Search ? new List<string>() : clauses;
        var parameters = new DynamicParameters();
        if (filter.FailureType is { } type)
        {
            dimensions.Add("failure_type = @failureType");
            parameters.Add("failureType", type.ToWire());
        }

        if (filter.StopReason == FailureStatistics.NoStopReason)
        {
            dimensions.Add("stop_reason IS NULL");
        }
        else if (filter.StopReason is { } stopReason)
        {
            dimensions.Add("stop_reason = @stopReason");
            parameters.Add("stopReason", stopReason);
        }

        if (filter.TruncationPattern is { } pattern)
        {
            dimensions.Add("truncation_pattern = @pattern");
            parameters.Add("pattern", pattern);
        }

        if (filter.RunId is { } runId)
        {
            dimensions.Add("run_id = @runId");
            parameters.Add("runId", runId);
        }

        if (filter.Model is { } model)
        {
            dimensions.Add("model = @model");
            parameters.Add("model", model);
        }

        if (table == FilterTable.Search && dimensions.Count > 0)
        {
            clauses.Add($"dimensions IN (SELECT id FROM failed_generation_dimensions WHERE {string.Join(" AND ", dimensions)})");
        }

        if (filter.CreatedBy is { } createdBy)
        {
            clauses.Add("created_by = @createdBy");
            parameters.Add("createdBy", createdBy);
        }

        if (filter.From is { } from)
        {
            clauses.Add(rollup ? "day >= (@from AT TIME ZONE 'UTC')::date" : "created_at >= @from");
            parameters.Add("from", from.UtcDateTime);
        }

        if (filter.To is { } to)
        {
            clauses.Add(rollup ? "day < (@to AT TIME ZONE 'UTC')::date" : "created_at < @to");
            parameters.Add("to", to.UtcDateTime);
        }

        if (!string.IsNullOrWhiteSpace(filter.Query))
        {
            if (rollup)
            {
                throw new ArgumentException("Text search cannot be answered from the rollup.", nameof(filter));
            }

            if (filter.QueryMatches is { } matches)
            {
                clauses.Add("id = ANY(@queryMatches)");
                parameters.Add("queryMatches", matches as Guid[] ?? [.. matches]);
            }
            else
            {
                // ILIKE in a multibyte database lowers both sides and then compares with LIKE; the copy's texts are
                // lowered already (migration 0089), so the same rows match.
                clauses.Add(table == FilterTable.Search
                    ? "(details LIKE lower(@query) OR errors LIKE lower(@query))"
                    : "(truncation_details ILIKE @query OR error_message ILIKE @query)");
                parameters.Add("query", LikePattern(filter.Query));
            }
        }

        return (clauses.Count == 0 ? string.Empty : "WHERE " + string.Join(" AND ", clauses), parameters);
    }

    /// <summary><paramref name="where"/> (a <see cref="BuildWhere(FailedGenerationFilter, FilterTable)"/> result, possibly empty) with <paramref name="clause"/> as one more condition.</summary>
    internal static string AndWhere(string where, string clause) => where.Length == 0 ? "WHERE " + clause : where + " AND " + clause;

    /// <summary>Where a filter is applied: the rows, the rollup of counts (0070), or the narrow search copy (0089).</summary>
    internal enum FilterTable
    {
        Rows,
        Rollup,
        Search,
    }

    /// <summary>Most matches resolved to ids first; a broader term is searched in the rows (page 1 finds it early).</summary>
    internal const int TextMatchLimit = 20_000;

    /// <summary>
    /// Resolves a text search to the ids it matches when there are at most <see cref="TextMatchLimit"/> of them,
    /// through the trigram indexes (migration 0087: under row-level security a plain ILIKE could not use them). The
    /// filter comes back unchanged without a search, for a broad term, or for maintenance (no user).
    /// </summary>
    internal static async Task<FailedGenerationFilter> ResolveTextSearchAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, FailedGenerationFilter filter, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(filter.Query) || filter.QueryMatches is not null)
        {
            return filter;
        }

        var matches = await connection.ExecuteScalarAsync<Guid[]?>(new CommandDefinition(
            "SELECT brun_failed_generation_text_matches(@pattern, @max)",
            new { pattern = LikePattern(filter.Query), max = TextMatchLimit },
            transaction,
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return matches is null ? filter : filter with { QueryMatches = matches };
    }

    private static string LikePattern(string query) => "%" + EscapeLike(query.Trim()) + "%";

    private static string EscapeLike(string text)
    {
        var escaped = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is '\\' or '%' or '_')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }
}
