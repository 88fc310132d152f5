using System.Globalization;
using BRun.Diagnostics.Infrastructure.Failures;
using MudBlazor;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>The insights aggregates shaped for MudBlazor charts.</summary>
public sealed class FailureChartData
{
    public required string UnitLabel { get; init; }
    public required string[] TimeLabels { get; init; }
    public required List<ChartSeries<double>> TimeSeries { get; init; }

    /// <summary>The time chart's colours, one per series (failure type), from <see cref="FailureChartPalette"/>.</summary>
    public required string[] TimePalette { get; init; }
    public required string[] StopReasonLabels { get; init; }
    public required List<ChartSeries<double>> StopReasonSeries { get; init; }

    /// <summary>The donut's colours, one per slice (stop reason), from <see cref="FailureChartPalette"/>.</summary>
    public required string[] StopReasonPalette { get; init; }

    public static string[] HistogramPalette { get; } = [FailureChartPalette.Failures, FailureChartPalette.Successes];
    public required string[] HistogramLabels { get; init; }
    public required List<ChartSeries<double>> HistogramSeries { get; init; }

    /// <summary>The time chart's options: its palette, and an axis that fits the busiest bucket's stacked total.</summary>
    public required StackedBarChartOptions TimeOptions { get; init; }

    public required DonutChartOptions StopReasonOptions { get; init; }

    /// <summary>The histogram's options: its palette, and an axis that fits the fullest bucket.</summary>
    public required BarChartOptions HistogramOptions { get; init; }

    /// <summary>No output at all in the range, failed or good: the histogram says so instead of drawing an empty axis.</summary>
    public required bool HistogramEmpty { get; init; }

    /// <summary>The bucket with the most failures, e.g. "1,000–1,099 tokens (412 failures)".</summary>
    public required string PeakLabel { get; init; }

    public static FailureChartData From(FailureInsights insights)
    {
        ArgumentNullException.ThrowIfNull(insights);
        var format = insights.Unit == ChartTimeUnit.Hour ? "MM-dd HH:00" : "yyyy-MM-dd";
        var buckets = insights.OverTime.Select(b => b.BucketStart).Distinct().Order().ToArray();
        var types = insights.OverTime.Select(b => b.FailureType).Distinct().Order(StringComparer.Ordinal).ToArray();
        var counts = insights.OverTime.ToDictionary(b => (b.BucketStart, b.FailureType), b => (double)b.Count);
        var timeSeries = types
            .Select(t => new ChartSeries<double>
            {
                Name = t,
                Data = new ChartData<double>(buckets.Select(b => counts.GetValueOrDefault((b, t))).ToArray()),
            })
            .ToList();

        var stops = insights.ByStopReason.OrderByDescending(p => p.Value).ToArray();
        var histogram = insights.OutputTokens;
        var width = histogram.Count > 1 ? histogram[1].LowerBound - histogram[0].LowerBound : 1;
        var peak = histogram.Count == 0 ? null : histogram.MaxBy(b => b.Failures);
        string[] timePalette = [.. types.Select(FailureChartPalette.ForFailureType)];
        string[] stopReasonPalette = [.. stops.Select(p => FailureChartPalette.ForStopReason(p.Key))];
        var busiestBucket = buckets.Length == 0 ? 0 : buckets.Max(b => types.Sum(t => counts.GetValueOrDefault((b, t))));
        var fullestBucket = histogram.Count == 0 ? 0 : histogram.Max(b => Math.Max(b.Failures, b.Successes));
        return new FailureChartData
        {
            UnitLabel = insights.Unit == ChartTimeUnit.Hour ? "hour" : "day",
            TimeLabels = ChartAxis.Thin([.. buckets.Select(b => b.ToString(format, CultureInfo.InvariantCulture))]),
            TimeSeries = timeSeries,
            TimePalette = timePalette,
            TimeOptions = ChartAxis.Options<StackedBarChartOptions>(busiestBucket, timePalette),
            StopReasonLabels = [.. stops.Select(p => $"{p.Key} ({p.Value.ToString("N0", CultureInfo.InvariantCulture)})")],
            StopReasonPalette = stopReasonPalette,
            StopReasonOptions = new DonutChartOptions { ChartPalette = stopReasonPalette },
            HistogramOptions = ChartAxis.Options<BarChartOptions>(fullestBucket, HistogramPalette),
            HistogramEmpty = fullestBucket == 0,
            StopReasonSeries = [new ChartSeries<double> { Name = "Stop reasons", Data = new ChartData<double>(stops.Select(p => (double)p.Value).ToArray()) }],
            HistogramLabels = ChartAxis.BucketLabels(histogram),
            HistogramSeries =
            [
                new ChartSeries<double> { Name = "Failures", Data = new ChartData<double>(histogram.Select(b => (double)b.Failures).ToArray()) },
                new ChartSeries<double> { Name = "Successes", Data = new ChartData<double>(histogram.Select(b => (double)b.Successes).ToArray()) },
            ],
            PeakLabel = peak is null || peak.Failures == 0
                ? "no failures with output tokens"
                : $"{PeakRange(histogram, peak, width)} tokens ({peak.Failures.ToString("N0", CultureInfo.InvariantCulture)} {(peak.Failures == 1 ? "failure" : "failures")})",
        };
    }

    // The last bucket has no upper bound (the reader puts every larger output in it).
    private static string PeakRange(IReadOnlyList<OutputTokenBucket> histogram, OutputTokenBucket peak, long width) =>
        ReferenceEquals(peak, histogram[^1])
            ? peak.LowerBound.ToString("N0", CultureInfo.InvariantCulture) + "+"
            : $"{peak.LowerBound.ToString("N0", CultureInfo.InvariantCulture)}–{(peak.LowerBound + width - 1).ToString("N0", CultureInfo.InvariantCulture)}";
}
