using BRun.Diagnostics.Infrastructure.Alerts;
using BRun.Diagnostics.Web.Runs;

namespace BRun.Diagnostics.Web.Tests.Runs;

/// <summary>The banner's entries: one per run, first-time patterns folded into one line, paused runs first.</summary>
public sealed class RunAlertGroupTests
{
    private static readonly DateTime T0 = new(2026, 12, 4, 6, 0, 0, DateTimeKind.Utc);

    private static RunAlert Alert(Guid runId, string kind, string? pattern, string message, int minute, string status = "running") =>
        new(Guid.NewGuid(), runId, kind, pattern, message, false, T0.AddMinutes(minute), null, "pending", 0, null, status);

    [Fact]
    public void A_runs_first_time_patterns_become_one_line_in_the_order_they_were_met_and_a_paused_run_comes_first()
    {
        var (busy, paused, single) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        // Newest first, as the store lists them.
        RunAlert[] alerts =
        [
            Alert(busy, RunAlertKind.NewPattern, "mid_word", "Truncation pattern mid_word seen for the first time", 9),
            Alert(single, RunAlertKind.NewPattern, "stream_cut", "Truncation pattern stream_cut seen for the first time", 8),
            Alert(busy, RunAlertKind.FailureRate, null, "Failure rate 60% after 20 tasks (above 50%)", 7),
            Alert(busy, RunAlertKind.NewPattern, "lone_backslash", "Truncation pattern lone_backslash seen for the first time", 6),
            Alert(busy, RunAlertKind.NewPattern, "max_tokens", "Truncation pattern max_tokens seen for the first time", 5),
            Alert(paused, RunAlertKind.FailureRate, null, "Failure rate 90% after 20 tasks (above 50%)", 1, "paused"),
        ];

        var groups = RunAlertGroup.From(alerts, maxGroups: 5);

        Assert.Equal(
            [
                $"{paused} True 1 failure_rate | Failure rate 90% after 20 tasks (above 50%)",
                $"{busy} False 4 new_pattern failure_rate | Truncation patterns seen for the first time: max_tokens, lone_backslash, mid_word"
                    + " / Failure rate 60% after 20 tasks (above 50%)",
                $"{single} False 1 new_pattern | Truncation pattern stream_cut seen for the first time",
            ],
            groups.Select(g => $"{g.RunId} {g.Paused} {g.AlertIds.Count} {string.Join(' ', g.Kinds)} | {string.Join(" / ", g.Lines)}"));
        Assert.Equal([paused, busy], RunAlertGroup.From(alerts, maxGroups: 2).Select(g => g.RunId));
    }
}
