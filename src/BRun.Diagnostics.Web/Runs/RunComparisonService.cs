using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Web.Runs;

/// <summary>One run's side of a comparison.</summary>
public sealed record RunComparisonSide(RunView Run, FailureStatistics Failures, IReadOnlyList<OutputTokenBucket> OutputTokens)
{
    /// <summary>Tasks that ended (succeeded or failed): the denominator of every rate.</summary>
    public int Ended => Run.Succeeded + Run.Failed;

    public double? FailureRate => Ended == 0 ? null : (double)Run.Failed / Ended;

    /// <summary>Every dollar the run spent (failed calls included) per conversation that reached production; null before the first.</summary>
    public decimal? CostPerGoodConversation => Run.Succeeded == 0 ? null : Math.Round(Run.CostUsd / Run.Succeeded, 6);

    /// <summary>The share of ended tasks that failed with <paramref name="count"/> failures; null before any ended.</summary>
    public double? Rate(long count) => Ended == 0 ? null : (double)count / Ended;
}

/// <summary>One line of a comparison table: a failure type, stop reason or pattern, and each side's count and rate.</summary>
public sealed record RunComparisonRow(string Key, long CountA, double? RateA, long CountB, double? RateB)
{
    /// <summary>B's rate minus A's, in percentage points; null when either side has ended no task.</summary>
    public double? ChangePoints => RateA is { } a && RateB is { } b ? Math.Round((b - a) * 100, 1) : null;
}

/// <summary>Two runs side by side: "did the fix work?" answered on one page.</summary>
public sealed record RunComparison(RunComparisonSide A, RunComparisonSide B, int BucketWidth)
{
    public IReadOnlyList<RunComparisonRow> ByFailureType => Rows(s => s.ByFailureType);

    public IReadOnlyList<RunComparisonRow> ByStopReason => Rows(s => s.ByStopReason);

    public IReadOnlyList<RunComparisonRow> ByPattern => Rows(s => s.ByTruncationPattern);

    /// <summary>True when B re-generated A's failures (B's main source is A).</summary>
    public bool BIsRerunOfA => B.Run.SourceRunId == A.Run.Id;

    private List<RunComparisonRow> Rows(Func<FailureStatistics, IReadOnlyDictionary<string, long>> counts)
    {
        var a = counts(A.Failures);
        var b = counts(B.Failures);
        return [.. a.Keys.Union(b.Keys, StringComparer.Ordinal)
            .Select(key => (Key: key, A: a.GetValueOrDefault(key), B: b.GetValueOrDefault(key)))
            .OrderByDescending(r => r.A + r.B).ThenBy(r => r.Key, StringComparer.Ordinal)
            .Select(r => new RunComparisonRow(r.Key, r.A, A.Rate(r.A), r.B, B.Rate(r.B)))];
    }
}

/// <summary>The two sides of a comparison, as the query parameters <c>a</c> and <c>b</c> name them.</summary>
public enum RunComparisonSideName
{
    A,
    B,
}

/// <summary>
/// Reads two runs for the compare page, as the current user: a run the user may not see makes the whole comparison
/// not found (row-level security decides), so another member's run is never shown next to one's own.
/// </summary>
public sealed class RunComparisonService(RunDashboardService runs, FailedGenerationReader failures, ICurrentUser currentUser)
{
    /// <summary>Histogram buckets up to the larger max_tokens of the two runs (then one open-ended bucket).</summary>
    public const int HistogramBuckets = 41;

    public async Task<RunComparison?> CompareAsync(Guid a, Guid b, CancellationToken cancellationToken) =>
        (await CompareOrMissingAsync(a, b, cancellationToken).ConfigureAwait(false)).Comparison;

    /// <summary>
    /// The comparison, or which run is missing (<see cref="RunComparisonSideName.A"/> first): the API names the
    /// parameter of a run the user may not see, the page only says that one of them is.
    /// </summary>
    public async Task<(RunComparison? Comparison, RunComparisonSideName? Missing)> CompareOrMissingAsync(Guid a, Guid b, CancellationToken cancellationToken)
    {
        if (await runs.GetAsync(a, cancellationToken).ConfigureAwait(false) is not { } runA)
        {
            return (null, RunComparisonSideName.A);
        }

        if (await runs.GetAsync(b, cancellationToken).ConfigureAwait(false) is not { } runB)
        {
            return (null, RunComparisonSideName.B);
        }

        // Both histograms share one bucket width, so their bars line up when overlaid.
        var width = BucketWidth(Math.Max(runA.MaxTokens, runB.MaxTokens));
        return (new RunComparison(
            await SideAsync(runA, width, cancellationToken).ConfigureAwait(false),
            await SideAsync(runB, width, cancellationToken).ConfigureAwait(false),
            width), null);
    }

    /// <summary>A round width (a multiple of 50) that spreads 0..max_tokens over the buckets before the open-ended one.</summary>
    public static int BucketWidth(int maxTokens)
    {
        var raw = (int)Math.Ceiling(Math.Max(1, maxTokens) / (double)(HistogramBuckets - 1));
        return Math.Max(50, (raw + 49) / 50 * 50);
    }

    private async Task<RunComparisonSide> SideAsync(RunView run, int width, CancellationToken cancellationToken)
    {
        var filter = new FailedGenerationFilter { RunId = run.Id };
        var statistics = await failures.GetStatisticsAsync(currentUser.Identity, filter, cancellationToken).ConfigureAwait(false);
        var histogram = await failures.GetOutputTokenHistogramAsync(currentUser.Identity, filter, width, HistogramBuckets, cancellationToken).ConfigureAwait(false);
        return new RunComparisonSide(run, statistics, histogram);
    }
}

/// <summary>The overlaid output-token histograms of a comparison, as MudChart series (every output: failures and successes).</summary>
public sealed record RunComparisonChart(string[] Labels, List<MudBlazor.ChartSeries<double>> Series, MudBlazor.LineChartOptions Options)
{
    public static RunComparisonChart From(RunComparison comparison)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        var buckets = comparison.A.OutputTokens;
        var labels = Failures.ChartAxis.BucketLabels(buckets);
        var peak = comparison.A.OutputTokens.Concat(comparison.B.OutputTokens).Select(b => (double)(b.Failures + b.Successes)).DefaultIfEmpty(0).Max();
        return new RunComparisonChart(labels,
        [
            Line("A " + Short(comparison.A.Run.Id), comparison.A.OutputTokens),
            Line("B " + Short(comparison.B.Run.Id), comparison.B.OutputTokens),
        ],
        Failures.ChartAxis.Options<MudBlazor.LineChartOptions>(peak));
    }

    /// <summary>The first eight hex digits of a run id, as the runs list shows them.</summary>
    public static string Short(Guid id) => id.ToString("N")[..8];

    private static MudBlazor.ChartSeries<double> Line(string name, IReadOnlyList<OutputTokenBucket> buckets) => new()
    {
        Name = name,
        Data = new MudBlazor.ChartData<double>([.. buckets.Select(b => (double)(b.Failures + b.Successes))]),
    };
}
