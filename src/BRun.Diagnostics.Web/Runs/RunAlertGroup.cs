using BRun.Diagnostics.Infrastructure.Alerts;

namespace BRun.Diagnostics.Web.Runs;

/// <summary>
/// The banner's entry for one run: its undismissed alerts as lines, the truncation patterns it met for the first time
/// folded into one. A first run meets every pattern for the first time, and one banner per pattern pushed the page
/// below the fold (four for the demo's first run).
/// </summary>
public sealed record RunAlertGroup(Guid RunId, string RunStatus, IReadOnlyList<Guid> AlertIds, IReadOnlyList<string> Kinds, IReadOnlyList<string> Lines)
{
    public bool Paused => RunStatus == Core.Pipeline.RunStatus.Paused;

    /// <summary>
    /// <paramref name="alerts"/> (newest first) by run: paused runs first (they wait for a person), then by each run's
    /// newest alert; at most <paramref name="maxGroups"/>.
    /// </summary>
    public static IReadOnlyList<RunAlertGroup> From(IReadOnlyList<RunAlert> alerts, int maxGroups)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        return
        [
            .. alerts.GroupBy(a => a.RunId)
                .Select(run => Group(run.Key, [.. run]))
                .OrderByDescending(g => g.Paused)
                .Take(maxGroups),
        ];
    }

    private static RunAlertGroup Group(Guid runId, IReadOnlyList<RunAlert> alerts)
    {
        var lines = new List<string>();
        // Patterns in the order they were met.
        var newPatterns = alerts.Where(a => a.Kind == RunAlertKind.NewPattern && a.Pattern is not null).OrderBy(a => a.CreatedAt).ToList();
        foreach (var alert in alerts)
        {
            if (newPatterns.Count > 1 && newPatterns.Contains(alert))
            {
                if (alert == newPatterns[^1])
                {
                    lines.Add($"Truncation patterns seen for the first time: {string.Join(", ", newPatterns.Select(a => a.Pattern))}");
                }

                continue;
            }

            lines.Add(alert.Message);
        }

        return new RunAlertGroup(
            runId, alerts[0].RunStatus, [.. alerts.Select(a => a.Id)], [.. alerts.Select(a => a.Kind).Distinct()], lines);
    }
}
