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
}
