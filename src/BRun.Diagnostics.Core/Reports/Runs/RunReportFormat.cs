using System.Globalization;

namespace BRun.Diagnostics.Core.Reports.Runs;

/// <summary>How the run report's figures read, the same in HTML and Markdown (invariant culture, UTC, ISO dates).</summary>
public static class RunReportFormat
{
    public static string Time(DateTimeOffset? value) =>
        value is { } v ? v.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "–";

    public static string Number(long? value) => value is { } v ? v.ToString("N0", CultureInfo.InvariantCulture) : "–";

    public static string Percent(double? share) => share is { } s ? s.ToString("0.0%", CultureInfo.InvariantCulture) : "–";

    public static string Usd(decimal? value) => value is { } v ? "$" + v.ToString(v < 1 ? "0.0000" : "N2", CultureInfo.InvariantCulture) : "–";

    public static string Temperature(decimal? value) => value is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) : "default";

    public static string Throughput(double? perMinute) =>
        perMinute is { } r ? r.ToString("0.0", CultureInfo.InvariantCulture) + " tasks/min" : "–";

    /// <summary>"2 h 03 min 04 s", "3 min 04 s", "12 s".</summary>
    public static string Duration(TimeSpan? value)
    {
        if (value is not { } d)
        {
            return "–";
        }

        var hours = (long)d.TotalHours;
        return hours > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{hours} h {d.Minutes:00} min {d.Seconds:00} s")
            : d.TotalMinutes >= 1
                ? string.Create(CultureInfo.InvariantCulture, $"{d.Minutes} min {d.Seconds:00} s")
                : string.Create(CultureInfo.InvariantCulture, $"{d.Seconds} s");
    }

    /// <summary>"1,003 / 4,096 (24.5%)", as the failures grid shows output tokens.</summary>
    public static string Tokens(int? output, int max) =>
        $"{Number(output)} / {Number(max)} ({Percent(output is { } o && max > 0 ? (double)o / max : null)})";

    /// <summary>The cluster's signature: "truncation · end_turn · lone_backslash".</summary>
    public static string Signature(RunReportCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return string.Join(" · ", new[] { cluster.FailureType, cluster.StopReason ?? "(no stop_reason)", cluster.TruncationPattern }.OfType<string>());
    }

    /// <summary>The cluster's one-line summary: count, share, output-token spread and, when priced, cost.</summary>
    public static string ClusterSummary(RunReportCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var cost = cluster.CostUsd is { } usd ? $"; cost {Usd(usd)}" : string.Empty;
        return $"{Number(cluster.Count)} {(cluster.Count == 1 ? "failure" : "failures")} ({Percent(cluster.ShareOfFailures)} of this run's failures); " +
               $"output tokens min {Number(cluster.MinOutputTokens)}, median {Number(cluster.MedianOutputTokens)}, max {Number(cluster.MaxOutputTokens)}{cost}.";
    }

    /// <summary>"0–99", "100–199", … and "5,000+" for an open-ended last bucket.</summary>
    public static string Bucket(RunReportHistogram histogram, int index)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        var low = histogram.Buckets[index].LowerBound;
        return histogram.LastBucketOpenEnded && index == histogram.Buckets.Count - 1
            ? Number(low) + "+"
            : Number(low) + "–" + Number(low + histogram.BucketWidth - 1);
    }

    /// <summary>Said instead of an excerpt when the failure has no response content (an API or transport error).</summary>
    public const string NoContent = "No response content: the error above is what came back.";

    /// <summary>The "it ends with" sentence of the report dialog's cut preview.</summary>
    public static string CutCaption(ContentTail tail)
    {
        ArgumentNullException.ThrowIfNull(tail);
        return $"Last {Number(tail.Text.Length)} of {Number(tail.TotalLength)} characters; it ends with {tail.LastCharacterDescription}.";
    }
}
