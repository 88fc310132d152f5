using BRun.Diagnostics.Core.Reports;
using BRun.Diagnostics.Core.Reports.Runs;
using BRun.Diagnostics.Infrastructure.Database;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Live;
using Dapper;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Reports;

/// <summary>
/// Builds the <see cref="RunReport"/> of one run from the same reads the dashboard makes (run counters, the failure
/// facets, the insights histogram), as the given identity: a run it may not see has no report. The web API and the
/// CLI render the model with <see cref="RunReportHtmlWriter"/> or <see cref="RunReportMarkdownWriter"/>.
/// </summary>
public sealed class RunReportBuilder(
    IUserScopedConnectionFactory connections,
    RunProgressReader runs,
    FailedGenerationReader failures,
    IOptions<RunReportOptions> options,
    TimeProvider timeProvider)
{
    /// <summary>The insights page's histogram: 100-token buckets up to 5,000, then one open-ended bucket.</summary>
    public const int HistogramBucketWidth = 100;
    public const int HistogramBucketCount = 51;

    // Below this a rate is noise; the same floor as the run page's throughput.
    private static readonly TimeSpan MinimumSpan = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The report, or null when the run does not exist or the identity may not see it. Links point at
    /// <paramref name="dashboardUrl"/> unless <see cref="RunReportOptions.DashboardUrl"/> is set.
    /// </summary>
    public async Task<RunReport?> BuildAsync(DbIdentity identity, Guid runId, Uri dashboardUrl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dashboardUrl);
        var now = timeProvider.GetUtcNow();
        var run = await runs.GetAsync(identity, runId, now, cancellationToken).ConfigureAwait(false);
        if (run is null)
        {
            return null;
        }

        var filter = new FailedGenerationFilter { RunId = runId };
        var facets = await failures.GetFacetsAsync(identity, filter, cancellationToken).ConfigureAwait(false);
        var histogram = await failures.GetOutputTokenHistogramAsync(identity, filter, HistogramBucketWidth, HistogramBucketCount, cancellationToken).ConfigureAwait(false);
        var clusters = await failures.GetFailureClustersAsync(identity, runId, options.Value.TopClusters, cancellationToken).ConfigureAwait(false);
        var cost = await GetCostAsync(identity, runId, run.Succeeded, cancellationToken).ConfigureAwait(false);

        var links = new DashboardLinks(options.Value.DashboardUrl is { } configured ? new Uri(configured) : dashboardUrl, runId);
        var counts = new RunReportCounts(run.Total, run.Succeeded, run.Failed, run.Cancelled, run.InFlight, run.Pending);
        return new RunReport
        {
            Parameters = new RunReportParameters(run.Id, run.Status, run.OwnerName, run.OwnerEmail, run.Model, run.MaxTokens, run.Temperature, run.TemplateName),
            Timing = Timing(run, now),
            Counts = counts,
            Cost = cost,
            Breakdowns =
            [
                Breakdown("By failure type", DashboardLinks.FailureTypeKey, facets.ByFailureType, facets.Total, counts, links),
                Breakdown("By stop reason", DashboardLinks.StopReasonKey, facets.ByStopReason, facets.Total, counts, links),
                Breakdown("By truncation pattern", DashboardLinks.PatternKey, facets.ByTruncationPattern, facets.Total, counts, links),
            ],
            OutputTokens = Histogram(histogram, run.MaxTokens),
            Clusters = [.. clusters.Select(c => Cluster(c, facets.Total, links))],
            Links = new RunReportLinks(links.RunPage, links.Failures(), links.Insights),
            GeneratedAt = now,
        };
    }

    /// <summary>
    /// The run's cost (generation_runs.cost_usd, failed_cost_usd), or null while nothing of it was priced: a run
    /// whose calls were never priced reads 0, and "$0.00" would claim it was free.
    /// </summary>
    private async Task<RunReportCost?> GetCostAsync(DbIdentity identity, Guid runId, int succeeded, CancellationToken cancellationToken)
    {
        await using var connection = await connections.OpenAsync(identity, cancellationToken).ConfigureAwait(false);
        var row = await connection.QuerySingleOrDefaultAsync<RunCostRow>(new CommandDefinition(
            "SELECT cost_usd AS total, failed_cost_usd AS failed FROM generation_runs WHERE id = @runId",
            new { runId },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return row is { Total: > 0 } cost ? new RunReportCost(cost.Total, cost.Failed, succeeded) : null;
    }

    private sealed class RunCostRow
    {
        public decimal Total { get; init; }
        public decimal Failed { get; init; }
    }

    private static RunReportTiming Timing(RunProgressRow run, DateTimeOffset now)
    {
        var started = run.StartedAt is { } s ? Utc(s) : (DateTimeOffset?)null;
        var finished = run.FinishedAt is { } f ? Utc(f) : (DateTimeOffset?)null;
        TimeSpan? duration = started is { } from ? (finished ?? now) - from : null;
        double? rate = duration is { } d && d >= MinimumSpan ? (run.Succeeded + run.Failed) / d.TotalMinutes : null;
        return new RunReportTiming(Utc(run.CreatedAt), started, finished, duration, rate);
    }

    private static RunReportBreakdown Breakdown(
        string title, string dimension, IReadOnlyDictionary<string, long> counts, long totalFailures, RunReportCounts run, DashboardLinks links) =>
        new(title, dimension, [.. counts
            .OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => new RunReportBreakdownRow(
                c.Key,
                c.Value,
                totalFailures == 0 ? 0 : (double)c.Value / totalFailures,
                run.Finished == 0 ? null : (double)c.Value / run.Finished,
                links.Failures((dimension, c.Key))))]);

    /// <summary>
    /// Shows the buckets up to max_tokens (or the last non-empty one, if later); only the full width keeps the last
    /// bucket open-ended.
    /// </summary>
    private static RunReportHistogram Histogram(IReadOnlyList<OutputTokenBucket> buckets, int maxTokens)
    {
        var lastNonEmpty = -1;
        for (var i = 0; i < buckets.Count; i++)
        {
            if (buckets[i].Failures + buckets[i].Successes > 0)
            {
                lastNonEmpty = i;
            }
        }

        var shown = Math.Min(buckets.Count, Math.Max(lastNonEmpty + 1, (maxTokens / HistogramBucketWidth) + 1));
        return new RunReportHistogram(
            HistogramBucketWidth,
            maxTokens,
            [.. buckets.Take(shown).Select(b => new RunReportHistogramBucket(b.LowerBound, b.Failures, b.Successes))],
            LastBucketOpenEnded: shown == buckets.Count);
    }

    private static RunReportCluster Cluster(FailureCluster c, long totalFailures, DashboardLinks links)
    {
        var filter = new List<(string, string)> { (DashboardLinks.FailureTypeKey, c.FailureType) };
        filter.Add((DashboardLinks.StopReasonKey, c.StopReason ?? FailureStatistics.NoStopReason));
        if (c.TruncationPattern is not null)
        {
            filter.Add((DashboardLinks.PatternKey, c.TruncationPattern));
        }

        return new RunReportCluster(
            c.FailureType, c.StopReason, c.TruncationPattern, c.Count,
            totalFailures == 0 ? 0 : (double)c.Count / totalFailures,
            c.MinOutputTokens, c.MedianOutputTokens, c.MaxOutputTokens, c.CostUsd,
            new RunReportExample(
                c.ExampleId, Utc(c.ExampleCreatedAt), c.ExampleOutputTokens, c.ExampleMaxTokens, c.ExampleTruncationDetails,
                c.ExampleErrorMessage, ContentTail.Of(c.ExampleContent), links.RawReport(c.ExampleId)),
            links.Failures([.. filter]));
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));

    /// <summary>Absolute dashboard URLs; the query keys are the failures page's (FailureFilterState).</summary>
    private sealed class DashboardLinks(Uri baseUrl, Guid runId)
    {
        public const string FailureTypeKey = "failure_type";
        public const string StopReasonKey = "stop_reason";
        public const string PatternKey = "pattern";
        private const string RunIdKey = "run_id";

        public string RunPage => Absolute($"/runs/{runId:D}");

        public string Insights => Absolute($"/conversations/failed/insights?{RunIdKey}={runId:D}");

        public string Failures(params (string Key, string Value)[] filters) =>
            Absolute($"/conversations/failed?{RunIdKey}={runId:D}" + string.Concat(filters.Select(f => $"&{f.Key}={Uri.EscapeDataString(f.Value)}")));

        public string RawReport(Guid failureId) => Absolute($"/api/failed-generations/{failureId:D}/report");

        private string Absolute(string pathAndQuery) => new Uri(baseUrl, pathAndQuery).AbsoluteUri;
    }
}
