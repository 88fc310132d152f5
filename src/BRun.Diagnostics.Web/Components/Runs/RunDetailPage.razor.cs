using System.Data.Common;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Web.Runs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BRun.Diagnostics.Web.Components.Runs;

/// <summary>One run: counters, throughput, ETA and its failure breakdown, following live events about this run.</summary>
public sealed partial class RunDetailPage : IDisposable
{
    private readonly CancellationTokenSource _disposed = new();
    private List<BreadcrumbItem> _breadcrumbs = [];
    private RunView? _run;
    private FailureStatistics? _breakdown;
    private bool _loading = true;
    private string? _problem;
    private IDisposable? _subscription;

    [Parameter]
    public Guid RunId { get; set; }

    [Inject]
    private RunDashboardService Runs { get; set; } = default!;

    [Inject]
    private LiveEventHub Hub { get; set; } = default!;

    [Inject]
    private IDialogService Dialogs { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    protected override async Task OnParametersSetAsync()
    {
        _breadcrumbs = [new("Runs", "/runs"), new(RunId.ToString("D"), null, disabled: true)];
        _subscription ??= Hub.Subscribe(OnLiveEventsAsync);
        await ReloadAsync();
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        _disposed.Cancel();
        _disposed.Dispose();
    }

    private async Task OnLiveEventsAsync(LiveEventBatch batch)
    {
        if (!batch.Concerns(RunId))
        {
            return;
        }

        try
        {
            await InvokeAsync(async () =>
            {
                await ReloadAsync();
                StateHasChanged();
            });
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await DispatchExceptionAsync(ex);
        }
    }

    private async Task ReloadAsync()
    {
        try
        {
            _run = await Runs.GetAsync(RunId, _disposed.Token);
            _breakdown = _run is null ? null : await Runs.GetFailureBreakdownAsync(RunId, _disposed.Token);
            _problem = null;
        }
        catch (DbException)
        {
            _problem = "Could not reach the database; showing the last known state.";
        }
        finally
        {
            _loading = false;
        }
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

        Snackbar.Add(await Runs.CancelAsync(RunId, _disposed.Token) ? "Run cancelled." : "The run had already finished.", Severity.Info);
        await ReloadAsync();
    }
}
