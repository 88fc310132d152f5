using System.Globalization;
using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Web.Failures;

/// <summary>
/// The value axis of the dashboard's bar and line charts. MudBlazor puts a tick every 20 by default and its axis ends at
/// a tick, so three failures drew bars in the bottom sixth of a 0–20 chart; here the step is 1, 2 or 5 times a power of
/// ten, about five to a chart, whatever the counts.
/// </summary>
public static class ChartAxis
{
    private const int WantedTicks = 5;

    /// <summary>The tick step for values up to <paramref name="max"/>: the smallest 1, 2 or 5 × 10ⁿ (at least 1) giving at most five steps.</summary>
    public static double TickStep(double max)
    {
        if (!double.IsFinite(max) || max <= WantedTicks)
        {
            return 1;
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(max / WantedTicks)));
        foreach (var factor in (ReadOnlySpan<double>)[1, 2, 5, 10])
        {
            if (max / (factor * magnitude) <= WantedTicks)
            {
                return factor * magnitude;
            }
        }

        return 10 * magnitude;
    }

    /// <summary>Options for a chart whose largest drawn value (a stacked bar's total, a line's peak) is <paramref name="max"/>.</summary>
    public static TOptions Options<TOptions>(double max, string[]? palette = null)
        where TOptions : MudBlazor.Charts.DefaultAxisChartOptions, new()
    {
        var options = new TOptions
        {
            YAxisTicks = (int)TickStep(max),
            MaxNumYAxisTicks = WantedTicks + 2,
            YAxisToStringFunc = value => value.ToString("N0", CultureInfo.InvariantCulture),
        };
        if (palette is not null)
        {
            options.ChartPalette = palette;
        }

        return options;
    }

    /// <summary>
    /// The labels with all but every k-th blanked, so that at most <paramref name="most"/> show: a month of days
    /// printed 26 dates over each other, and 12 still touched. (A bar's tooltip shows its value and series, not its label.)
    /// </summary>
    public static string[] Thin(IReadOnlyList<string> labels, int most = 8)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(most, 1);
        var every = (labels.Count + most - 1) / most;
        return [.. labels.Select((label, i) => every <= 1 || i % every == 0 ? label : string.Empty)];
    }

    /// <summary>
    /// An output-token histogram's axis labels: every 5th bucket's lower bound and the last's, which is open ("5,000+":
    /// the reader puts every larger output in it); the others blank so the axis stays readable.
    /// </summary>
    public static string[] BucketLabels(IReadOnlyList<OutputTokenBucket> buckets)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        return [.. buckets.Select((b, i) => i % 5 == 0 || i == buckets.Count - 1
            ? b.LowerBound.ToString("N0", CultureInfo.InvariantCulture) + (i == buckets.Count - 1 ? "+" : string.Empty)
            : string.Empty)];
    }
}
