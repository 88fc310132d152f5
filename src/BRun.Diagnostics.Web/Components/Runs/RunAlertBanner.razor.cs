using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Web.Runs;
using Microsoft.AspNetCore.Components;

namespace BRun.Diagnostics.Web.Components.Runs;

/// <summary>
/// The dashboard's alert banner (in the main layout): one entry per run with undismissed alerts, Resume / Cancel for a
/// paused run.
/// It reloads when a live batch carries run alerts or run status changes.
/// </summary>
public sealed partial class RunAlertBanner : LiveReloadingComponentBase
{
    private IReadOnlyList<RunAlertGroup> _runs = [];

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
        _runs = await Alerts.ListBannerAsync(cancellationToken);
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

    private async Task DismissAsync(RunAlertGroup run)
    {
        await Alerts.DismissAsync(run, Disposed);
        await ReloadAsync();
    }
}
