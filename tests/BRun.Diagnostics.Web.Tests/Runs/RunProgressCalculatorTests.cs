using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Web.Runs;

namespace BRun.Diagnostics.Web.Tests.Runs;

public sealed class RunProgressCalculatorTests
{
    private static readonly DateTime Start = new(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    private static RunProgressRow Row(
        string status = "running", DateTime? startedAt = null, DateTime? finishedAt = null,
        int total = 100, int succeeded = 0, int failed = 0, int inFlight = 0, int pending = 100, int finishedInWindow = 0) =>
        new(Guid.NewGuid(), Guid.NewGuid(), "a@example.test", "A", Start, startedAt, finishedAt, "m", 1024, null, "default",
            status, total, succeeded, failed, 0, inFlight, pending, finishedInWindow);

    private static DateTimeOffset At(TimeSpan sinceStart) => new(Start + sinceStart);

    [Fact]
    public void A_run_not_started_has_no_throughput_and_no_eta()
    {
        var view = RunProgressCalculator.ToView(Row(), At(TimeSpan.FromMinutes(5)));

        Assert.Equal(((double?)null, (TimeSpan?)null), (view.TasksPerMinute, view.Eta));
    }

    [Fact]
    public void Throughput_counts_tasks_finished_in_the_last_minute_and_eta_divides_what_remains()
    {
        var view = RunProgressCalculator.ToView(
            Row(startedAt: Start, succeeded: 50, failed: 10, inFlight: 10, pending: 30, finishedInWindow: 20),
            At(TimeSpan.FromMinutes(10)));

        Assert.Equal((20.0, TimeSpan.FromMinutes(2)), (view.TasksPerMinute, view.Eta));
    }

    [Fact]
    public void A_run_younger_than_the_window_is_measured_since_its_start()
    {
        var view = RunProgressCalculator.ToView(
            Row(startedAt: Start, succeeded: 10, pending: 90, finishedInWindow: 10),
            At(TimeSpan.FromSeconds(30)));

        Assert.Equal((20.0, TimeSpan.FromMinutes(4.5)), (view.TasksPerMinute, view.Eta));
    }

    [Fact]
    public void A_run_a_few_seconds_old_shows_no_rate_yet()
    {
        var view = RunProgressCalculator.ToView(Row(startedAt: Start, succeeded: 1, pending: 99, finishedInWindow: 1), At(TimeSpan.FromSeconds(2)));

        Assert.Null(view.TasksPerMinute);
    }

    [Fact]
    public void A_finished_run_shows_its_average_rate_and_no_eta()
    {
        var view = RunProgressCalculator.ToView(
            Row(status: "completed", startedAt: Start, finishedAt: Start.AddMinutes(4), succeeded: 90, failed: 10, pending: 0),
            At(TimeSpan.FromHours(1)));

        Assert.Equal((25.0, (TimeSpan?)null), (view.TasksPerMinute, view.Eta));
    }

    [Fact]
    public void Progress_shares_are_percentages_of_the_total()
    {
        var view = RunProgressCalculator.ToView(Row(total: 8, succeeded: 2, failed: 1, pending: 5), At(TimeSpan.Zero));

        Assert.Equal((25.0, 12.5, 5), (view.SucceededPercent, view.FailedPercent, view.Remaining));
    }
}
