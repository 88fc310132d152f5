using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Web.Failures;
using MudBlazor;

namespace BRun.Diagnostics.Web.Tests.Failures;

public sealed class ChartAxisTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(3, 1)]
    [InlineData(5, 1)]
    [InlineData(7, 2)]
    [InlineData(12, 5)]
    [InlineData(100, 20)]
    [InlineData(50_000, 10_000)]
    [InlineData(50_001, 20_000)]
    [InlineData(double.NaN, 1)]
    public void The_step_is_1_2_or_5_times_a_power_of_ten_with_at_most_five_steps(double max, double step) =>
        Assert.Equal(step, ChartAxis.TickStep(max));

    [Fact]
    public void Options_carry_the_step_and_the_palette()
    {
        var options = ChartAxis.Options<StackedBarChartOptions>(412, ["#111111"]);

        Assert.Equal((100, "#111111"), (options.YAxisTicks, options.ChartPalette.Single()));
    }

    [Fact]
    public void Axis_labels_are_grouped_in_thousands()
    {
        var options = ChartAxis.Options<BarChartOptions>(40_000);

        Assert.Equal("40,000", options.YAxisToStringFunc!(40_000));
    }

    [Fact]
    public void A_month_of_days_labels_every_fourth_day_and_a_week_every_day()
    {
        var month = Enumerable.Range(1, 26).Select(d => $"2026-11-{d:00}").ToArray();

        Assert.Equal(
            ["2026-11-01", "", "", "", "2026-11-05"],
            ChartAxis.Thin(month).Take(5));
        Assert.Equal(7, ChartAxis.Thin(month).Count(l => l.Length > 0));
        Assert.Equal(month[..7], ChartAxis.Thin(month[..7]));
    }

    [Fact]
    public void The_open_last_bucket_is_labelled_and_named_as_open()
    {
        OutputTokenBucket[] histogram = [.. Enumerable.Range(0, 51).Select(i => new OutputTokenBucket(i * 100, i == 50 ? 7 : i == 10 ? 3 : 0, 0))];

        var chart = FailureChartData.From(new FailureInsights(ChartTimeUnit.Day, [], new Dictionary<string, long>(), histogram));

        Assert.Equal(("0", "5,000+", "Most failures: 5,000+ tokens (7 failures)"), (chart.HistogramLabels[0], chart.HistogramLabels[50], "Most failures: " + chart.PeakLabel));
    }
}
