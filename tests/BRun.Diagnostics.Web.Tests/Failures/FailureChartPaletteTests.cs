using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Web.Failures;

namespace BRun.Diagnostics.Web.Tests.Failures;

public sealed class FailureChartPaletteTests
{
    private static FailureChartData Chart(string[] types, params (string Stop, long Count)[] stops) => FailureChartData.From(new FailureInsights(
        ChartTimeUnit.Day,
        [.. types.Select(t => new FailureTimeBucket(new DateTime(2026, 12, 2, 0, 0, 0, DateTimeKind.Utc), t, 1))],
        stops.ToDictionary(s => s.Stop, s => s.Count),
        []));

    [Fact]
    public void A_failure_type_keeps_its_colour_whatever_other_types_the_chart_shows()
    {
        var alone = Chart(["truncation"]);
        var withOthers = Chart(["api_error", "parse_error", "truncation"]);

        Assert.Equal(alone.TimePalette[0], withOthers.TimePalette[2]);
        Assert.Equal(3, withOthers.TimePalette.Distinct().Count());
    }

    [Fact]
    public void A_stop_reason_keeps_its_colour_whatever_its_rank_in_the_donut()
    {
        var first = Chart([], ("max_tokens", 9), ("end_turn", 1));
        var second = Chart([], ("end_turn", 9), ("max_tokens", 1), ("(none)", 5));

        Assert.Equal((first.StopReasonPalette[0], first.StopReasonPalette[1]), (second.StopReasonPalette[2], second.StopReasonPalette[0]));
    }

    [Fact]
    public void An_unlisted_value_gets_the_same_spare_colour_every_time()
    {
        Assert.Equal(FailureChartPalette.ForStopReason("some_new_reason"), FailureChartPalette.ForStopReason("some_new_reason"));
    }
}
