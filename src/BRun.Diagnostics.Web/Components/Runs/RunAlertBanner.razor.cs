using BRun.Diagnostics.Infrastructure.Alerts;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Web.Runs;
using Microsoft.AspNetCore.Components;

namespace BRun.Diagnostics.Web.Components.Runs;

/// <summary>
/// The dashboard's alert banner (in the main layout): undismissed alerts with Resume / Cancel for paused runs.
/// It reloads when a live batch carries run alerts or run status changes.
/// </summary>
public sealed partial class RunAlertBanner : LiveReloadingComponentBase
{
    private IReadOnlyList<RunAlert> _alerts = [];

    [Inject]
    private RunAlertService Alerts { get; set; } = default!;

    protected override async Task OnInitializedAsync()
    {
        FollowLiveEvents();
        await ReloadAsync();
    }

    /// <summary>Alerts, and pauses, resumes and cancels (events named run_*), or a resync.</summary>
    protected override bool Concerns(LiveEventBatch batch) =>
        batch.Resync || batch.Events.Any(e => e.Kind.StartsWith("run_", StringComparison.Ordinal) && e.Kind != "run_created");

    /// <summary>Loads so far (tests wait for the first).</summary>
    internal int Loads { get; private set; }

    protected override async Task LoadAsync(CancellationToken cancellationToken)
    {
        _alerts = await Alerts.ListActiveAsync(cancellationToken);
        Loads++;
    }

    private async Task ResumeAsync(Guid runId)
    {
        await Alerts.ResumeAsync(runId, Disposed);
        await ReloadAsync();
    }

    private async Task CancelAsync(Guid runId)
    {
        await Alerts.CancelAsync(runId, Disposed);
        await ReloadAsync();
    }

    private async Task DismissAsync(Guid alertId)
    {
        await Alerts.DismissAsync(alertId, Disposed);
        await ReloadAsync();
    }
}
