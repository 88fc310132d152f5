namespace BRun.Diagnostics.Core.Reports.Runs;

/// <summary>
/// Everything a run report says, built once (by the infrastructure's <c>RunReportBuilder</c>) and rendered as HTML
/// (<see cref="RunReportHtmlWriter"/>) or Markdown (<see cref="RunReportMarkdownWriter"/>), so the two say the same.
/// Text members are raw: each writer encodes for its own format. Times are UTC.
/// </summary>
public sealed record RunReport
{
    public required RunReportParameters Parameters { get; init; }
    public required RunReportTiming Timing { get; init; }
    public required RunReportCounts Counts { get; init; }

    /// <summary>Null while the database has no cost figures for runs; the section is then left out.</summary>
    public RunReportCost? Cost { get; init; }

    /// <summary>Failures by failure type, stop reason and truncation pattern, in that order.</summary>
    public required IReadOnlyList<RunReportBreakdown> Breakdowns { get; init; }
    public required RunReportHistogram OutputTokens { get; init; }

    /// <summary>The largest groups of failures with the same signature, largest first.</summary>
    public required IReadOnlyList<RunReportCluster> Clusters { get; init; }
    public required RunReportLinks Links { get; init; }
    public required DateTimeOffset GeneratedAt { get; init; }
}

public sealed record RunReportParameters(
    Guid RunId,
    string Status,
    string OwnerName,
    string OwnerEmail,
    string Model,
    int MaxTokens,
    decimal? Temperature,
    string TemplateName);

/// <summary>When the run ran. TasksPerMinute: finished tasks (succeeded + failed) per minute since the start; null before 5 s of running.</summary>
public sealed record RunReportTiming(
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    TimeSpan? Duration,
    double? TasksPerMinute);

/// <summary>The run's counters, as the run page shows them.</summary>
public sealed record RunReportCounts(int Total, int Succeeded, int Failed, int Cancelled, int InFlight, int Pending)
{
    /// <summary>Generations that reached an outcome.</summary>
    public int Finished => Succeeded + Failed;

    /// <summary>Failed share of finished generations; null before any finished.</summary>
    public double? FailureRate => Finished == 0 ? null : (double)Failed / Finished;
}

/// <summary>What the run cost: TotalUsd for every call (failures and retries included), FailedUsd on calls that ended as failed generations.</summary>
public sealed record RunReportCost(decimal TotalUsd, decimal FailedUsd, int Succeeded)
{
    /// <summary>What one stored conversation cost, failures paid for included; null before any succeeded.</summary>
    public decimal? PerSucceededUsd => Succeeded == 0 ? null : TotalUsd / Succeeded;

    public double? FailedShare => TotalUsd == 0 ? null : (double)(FailedUsd / TotalUsd);
}

/// <summary>Failures counted by one dimension; Dimension is the dashboard's filter key (failure_type, stop_reason, pattern).</summary>
public sealed record RunReportBreakdown(string Title, string Dimension, IReadOnlyList<RunReportBreakdownRow> Rows);

/// <summary>
/// One value of a breakdown. ShareOfFailures: count over all failures of the run. RateOfFinished: count over finished
/// generations (succeeded + failed), the failure rate of this value. FailuresUrl: the dashboard's list filtered to it.
/// </summary>
public sealed record RunReportBreakdownRow(string Key, long Count, double ShareOfFailures, double? RateOfFinished, string FailuresUrl);

/// <summary>
/// Output tokens of failures against stored conversations, in buckets of <see cref="BucketWidth"/>. When
/// <see cref="LastBucketOpenEnded"/>, the last bucket holds everything at or above its lower bound.
/// </summary>
public sealed record RunReportHistogram(int BucketWidth, int MaxTokens, IReadOnlyList<RunReportHistogramBucket> Buckets, bool LastBucketOpenEnded)
{
    public long Failures => Buckets.Sum(b => b.Failures);

    public long Successes => Buckets.Sum(b => b.Successes);
}

public sealed record RunReportHistogramBucket(int LowerBound, long Failures, long Successes);

/// <summary>
/// Failures sharing failure type, stop reason and truncation pattern, with one example. CostUsd: what their calls cost,
/// null when none was priced.
/// </summary>
public sealed record RunReportCluster(
    string FailureType,
    string? StopReason,
    string? TruncationPattern,
    long Count,
    double ShareOfFailures,
    int? MinOutputTokens,
    int? MedianOutputTokens,
    int? MaxOutputTokens,
    decimal? CostUsd,
    RunReportExample Example,
    string FailuresUrl);

/// <summary>One failure of a cluster: its cut as the report dialog shows it.</summary>
public sealed record RunReportExample(
    Guid FailureId,
    DateTimeOffset CreatedAt,
    int? OutputTokens,
    int MaxTokens,
    string? TruncationDetails,
    string? ErrorMessage,
    ContentTail ContentTail,
    string RawReportUrl);

/// <summary>Absolute links back into the dashboard.</summary>
public sealed record RunReportLinks(string RunPage, string Failures, string Insights);
