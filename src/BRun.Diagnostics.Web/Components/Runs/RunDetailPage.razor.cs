using BRun.Diagnostics.Core.Pipeline;
using BRun.Diagnostics.Infrastructure.Batches;
using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.RateLimits;
using BRun.Diagnostics.Web.Design;
using BRun.Diagnostics.Web.Failures;
using BRun.Diagnostics.Web.Runs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BRun.Diagnostics.Web.Components.Runs;

/// <summary>One run: counters, throughput, ETA and its failure breakdown, following live events about this run.</summary>
public sealed partial class RunDetailPage : LiveReloadingComponentBase
{
    private List<BreadcrumbItem> _breadcrumbs = [];
    private RunView? _run;
    private FailureStatistics? _breakdown;
    private long _failuresWithoutReport;
    private IReadOnlyList<MessageBatchRow> _batches = [];
    private RunCost? _cost;
    private RateLimitWait? _rateLimitWait;
    private RunDesign? _design;
    private IReadOnlyList<BreakdownRow> _designBreakdown = [];
    private bool _showDiff;

    [Parameter]
    public Guid RunId { get; set; }

    [Inject]
    private RunDashboardService Runs { get; set; } = default!;

    [Inject]
    private DesignDashboardService Design { get; set; } = default!;

    [Inject]
    private RunAlertService RunAlerts { get; set; } = default!;

    [Inject]
    private IDialogService Dialogs { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    protected override async Task OnParametersSetAsync()
    {
        _breadcrumbs = [new("Runs", "/runs"), new(RunId.ToString("D"), null, disabled: true)];
        FollowLiveEvents();
        await ReloadAsync();
    }

    protected override bool Concerns(LiveEventBatch batch) => batch.Concerns(RunId);

    protected override async Task LoadAsync(CancellationToken cancellationToken)
    {
        // The counters and the breakdown come from one snapshot, so "Failed" and "Failures (N)" agree mid-run.
        var detail = await Runs.GetWithFailuresAsync(RunId, cancellationToken);
        _run = detail?.Run;
        _breakdown = detail?.Failures;
        _failuresWithoutReport = detail?.FailuresWithoutReport ?? 0;
        _batches = _run is null ? [] : await Runs.GetBatchesAsync(RunId, cancellationToken);
        _cost = _run is null ? null : await Runs.GetCostAsync(RunId, cancellationToken);

        // Batch-mode tasks wait on the Batches API, not on the per-minute limits the pacer keeps.
        _rateLimitWait = _run is null || _cost?.Mode == RunMode.Batch ? null : await Runs.GetRateLimitWaitAsync(_run, cancellationToken);
        _design = _run is null ? null : await Design.GetRunDesignAsync(RunId, cancellationToken);
        _designBreakdown = _run is null ? [] : await Design.GetRunBreakdownAsync(RunId, cancellationToken);
    }

    /// <summary>The failed-generations list filtered to this run, narrowed further by <paramref name="narrow"/>.</summary>
    private string FailuresHref(Func<FailureFilterState, FailureFilterState> narrow) =>
        "/conversations/failed" + narrow(FailureFilterState.Empty with { RunId = RunId }).ToQueryString();

    private async Task PauseAsync()
    {
        Snackbar.Add(await RunAlerts.PauseAsync(RunId, Disposed) ? "Run paused: no new tasks start until you resume it." : "The run is not running.", Severity.Info);
        await ReloadAsync();
    }

    private async Task ResumeAsync()
    {
        Snackbar.Add(await RunAlerts.ResumeAsync(RunId, Disposed) ? "Run resumed." : "The run is not paused.", Severity.Info);
        await ReloadAsync();
    }

    private async Task CancelAsync()
    {
        var confirmed = await Dialogs.ShowMessageBoxAsync(
            "Cancel run?",
            "Pending tasks will not be generated. Tasks in flight finish.",
            yesText: "Cancel run",
            cancelText: "Keep running");
        if (confirmed != true)
        {
            return;
        }

        Snackbar.Add(await Runs.CancelAsync(RunId, Disposed) ? "Run cancelled." : "The run had already finished.", Severity.Info);
        await ReloadAsync();
    }
}
