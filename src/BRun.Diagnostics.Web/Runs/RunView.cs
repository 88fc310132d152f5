using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Live;

namespace BRun.Diagnostics.Web.Runs;

/// <summary>A run ready to display: counters, shares of the total for the progress bar, throughput and ETA.</summary>
public sealed record RunView(
    Guid Id,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    string OwnerName,
    string OwnerEmail,
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
    double? TasksPerMinute,
    TimeSpan? Eta,
    decimal CostUsd = 0,
    decimal FailedCostUsd = 0,
    bool Simulated = false,
    string Mode = RunMode.Online,
    decimal OnlineEquivalentCostUsd = 0,
    Guid? SourceRunId = null)
{
    /// <summary>A re-run: it generated failures of <see cref="SourceRunId"/> (its main source) again.</summary>
    public bool IsRerun => SourceRunId is not null;

    public bool IsFinished => RunStatus.IsFinished(Status);

    public int Done => Succeeded + Failed + Cancelled;

    public double SucceededPercent => Percent(Succeeded);

    public double FailedPercent => Percent(Failed);

    public double CancelledPercent => Percent(Cancelled);

    /// <summary>Tasks neither finished nor cancelled: waiting in the queue or in flight.</summary>
    public int Remaining => Pending + InFlight;

    private double Percent(int count) => Total == 0 ? 0 : Math.Round(100.0 * count / Total, 2);
}

/// <summary>
/// A run and its failure breakdown read from one snapshot. <see cref="FailuresWithoutReport"/> counts failed tasks with no
/// stored failed generation (given up after repeated errors of ours, or a batch the API rejected).
/// </summary>
public sealed record RunDetail(RunView Run, FailureStatistics Failures)
{
    public long FailuresWithoutReport => Math.Max(0, Run.Failed - Failures.Total);
}

/// <summary>
/// Turns a <see cref="RunProgressRow"/> into a <see cref="RunView"/>. Throughput is tasks finished per minute over the
/// last <see cref="ThroughputWindow"/> (or since the start, if the run is younger); a finished run shows its average.
/// ETA is the remaining tasks at that rate.
/// </summary>
public static class RunProgressCalculator
{
    public static readonly TimeSpan ThroughputWindow = TimeSpan.FromMinutes(1);

    // Below this, a rate is noise (one task in two seconds is not "30 per minute").
    private static readonly TimeSpan MinimumSpan = TimeSpan.FromSeconds(5);

    public static RunView ToView(RunProgressRow row, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(row);
        var rate = TasksPerMinute(row, now);
        var remaining = row.Pending + row.InFlight;
        TimeSpan? eta = RunStatus.IsFinished(row.Status) || rate is not > 0
            ? null
            : TimeSpan.FromMinutes(remaining / rate.Value);
        return new RunView(
            row.Id, Utc(row.CreatedAt), row.FinishedAt is { } finished ? Utc(finished) : null, row.OwnerName, row.OwnerEmail, row.Model, row.MaxTokens, row.Temperature,
            row.TemplateName, row.Status, row.Total, row.Succeeded, row.Failed, row.Cancelled, row.InFlight, row.Pending,
            rate, eta, row.CostUsd, row.FailedCostUsd, row.Simulated, row.Mode, row.OnlineEquivalentCostUsd, row.SourceRunId);
    }

    private static double? TasksPerMinute(RunProgressRow row, DateTimeOffset now)
    {
        if (row.StartedAt is not { } startedAt)
        {
            return null;
        }

        var started = Utc(startedAt);
        if (RunStatus.IsFinished(row.Status))
        {
            var ran = (row.FinishedAt is { } f ? Utc(f) : now) - started;
            return ran >= MinimumSpan ? (row.Succeeded + row.Failed) / ran.TotalMinutes : null;
        }

        var span = now - started < ThroughputWindow ? now - started : ThroughputWindow;
        return span >= MinimumSpan ? row.FinishedInWindow / span.TotalMinutes : null;
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
