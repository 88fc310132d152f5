using BRun.Diagnostics.Infrastructure.Database;
using Dapper;

namespace BRun.Diagnostics.Infrastructure.Failures;

/// <summary>
/// Failures of a run sharing failure type, stop reason and truncation pattern, with output-token spread and the
/// oldest one as the example (its content kept whole, so the caller cuts the tail as the report dialog does).
/// </summary>
public sealed class FailureCluster
{
    public string FailureType { get; init; } = string.Empty;
    public string? StopReason { get; init; }
    public string? TruncationPattern { get; init; }
    public long Count { get; init; }
    public int? MinOutputTokens { get; init; }
    public int? MedianOutputTokens { get; init; }
    public int? MaxOutputTokens { get; init; }

    /// <summary>What the cluster's failures cost (their calls, retries included); null when none was priced.</summary>
    public decimal? CostUsd { get; init; }
    public Guid ExampleId { get; init; }
    public DateTime ExampleCreatedAt { get; init; }
    public int? ExampleOutputTokens { get; init; }
    public int ExampleMaxTokens { get; init; }
    public string? ExampleTruncationDetails { get; init; }
    public string? ExampleErrorMessage { get; init; }
    public string? ExampleContent { get; init; }
}

public sealed partial class FailedGenerationReader
{
    /// <summary>The <paramref name="top"/> largest clusters of the run's failures the identity may see, largest first.</summary>
    public async Task<IReadOnlyList<FailureCluster>> GetFailureClustersAsync(DbIdentity identity, Guid runId, int top, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        await using var connection = await _connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        // IS NOT DISTINCT FROM: stop_reason and truncation_pattern are often NULL, and NULL is a cluster key like any other.
        var rows = await connection.QueryAsync<FailureCluster>(new CommandDefinition(
            """
            WITH c AS (
                SELECT failure_type, stop_reason, truncation_pattern, count(*) AS count,
                       min(output_tokens) AS minoutputtokens,
                       percentile_disc(0.5) WITHIN GROUP (ORDER BY output_tokens) AS medianoutputtokens,
                       max(output_tokens) AS maxoutputtokens,
                       sum(cost_usd) AS costusd
                FROM failed_generations
                WHERE run_id = @runId
                GROUP BY failure_type, stop_reason, truncation_pattern
                ORDER BY count(*) DESC, failure_type, stop_reason NULLS FIRST, truncation_pattern NULLS FIRST
                LIMIT @top)
            SELECT c.failure_type AS failuretype, c.stop_reason AS stopreason, c.truncation_pattern AS truncationpattern,
                   c.count, c.minoutputtokens, c.medianoutputtokens, c.maxoutputtokens, c.costusd,
                   e.id AS exampleid, e.created_at AS examplecreatedat, e.output_tokens AS exampleoutputtokens,
                   e.max_tokens AS examplemaxtokens, e.truncation_details AS exampletruncationdetails,
                   e.error_message AS exampleerrormessage, e.response_content AS examplecontent
            FROM c
            CROSS JOIN LATERAL (
                SELECT f.id, f.created_at, f.output_tokens, f.max_tokens, f.truncation_details, f.error_message, f.response_content
                FROM failed_generations f
                WHERE f.run_id = @runId AND f.failure_type = c.failure_type
                  AND f.stop_reason IS NOT DISTINCT FROM c.stop_reason
                  AND f.truncation_pattern IS NOT DISTINCT FROM c.truncation_pattern
                ORDER BY f.created_at, f.id
                LIMIT 1) e
            ORDER BY c.count DESC, c.failure_type, c.stop_reason NULLS FIRST, c.truncation_pattern NULLS FIRST
            """,
            new { runId, top },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return rows.AsList();
    }
}
