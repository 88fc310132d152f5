using System.Data.Common;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Web.Runs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BRun.Diagnostics.Web.Components.Runs;

/// <summary>The runs table. Follows live run events: a batch that concerns a shown run (or a new run) reloads the list.</summary>
public sealed partial class RunsPage : IDisposable
{
    private readonly CancellationTokenSource _disposed = new();
    private IReadOnlyList<RunView> _runs = [];
    private bool _loading = true;
    private string? _problem;
    private IDisposable? _subscription;

    [Inject]
    private RunDashboardService Runs { get; set; } = default!;

    [Inject]
    private LiveEventHub Hub { get; set; } = default!;

    [Inject]
    private IDialogService Dialogs { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    protected override async Task OnInitializedAsync()
    {
        _subscription = Hub.Subscribe(OnLiveEventsAsync);
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
        if (!batch.Resync && !batch.HasNewRuns && !_runs.Any(r => batch.RunIds.Contains(r.Id)))
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
            _runs = await Runs.ListAsync(_disposed.Token);
            _problem = null;
        }
        catch (DbException)
        {
            // The database is away (restart): keep showing the last rows; the listener resyncs when it is back.
            _problem = "Could not reach the database; showing the last known state.";
        }
        finally
        {
            _loading = false;
        }
    }

    private async Task OpenCreateDialogAsync()
    {
        var dialog = await Dialogs.ShowAsync<CreateRunDialog>("New run", new DialogOptions { MaxWidth = MaxWidth.Small, FullWidth = true, CloseOnEscapeKey = true });
        var result = await dialog.Result;
        if (result is { Canceled: false, Data: Guid })
        {
            Snackbar.Add("Run created.", Severity.Success);
            await ReloadAsync();
        }
    }

    private async Task CancelAsync(RunView run)
    {
        var confirmed = await Dialogs.ShowMessageBoxAsync(
            "Cancel run?",
            $"Pending tasks of this run ({run.Pending}) will not be generated. Tasks in flight finish.",
            yesText: "Cancel run",
            cancelText: "Keep running");
        if (confirmed != true)
        {
            return;
        }

        if (await Runs.CancelAsync(run.Id, _disposed.Token))
        {
            Snackbar.Add("Run cancelled.", Severity.Info);
        }
        else
        {
            Snackbar.Add("The run had already finished.", Severity.Warning);
        }

        await ReloadAsync();
    }
}
