using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Web.Runs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BRun.Diagnostics.Web.Components.Runs;

/// <summary>The runs table. Follows live run events: a batch that concerns a shown run (or a new run) reloads the list.</summary>
public sealed partial class RunsPage : LiveReloadingComponentBase
{
    private IReadOnlyList<RunView> _runs = [];

    [Inject]
    private RunDashboardService Runs { get; set; } = default!;

    [Inject]
    private IDialogService Dialogs { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    protected override async Task OnInitializedAsync()
    {
        FollowLiveEvents();
        await ReloadAsync();
    }

    protected override bool Concerns(LiveEventBatch batch) =>
        batch.Resync || batch.HasNewRuns || _runs.Any(r => batch.RunIds.Contains(r.Id));

    protected override async Task LoadAsync(CancellationToken cancellationToken) =>
        _runs = await Runs.ListAsync(cancellationToken);

    private async Task OpenCreateDialogAsync()
    {
        var dialog = await Dialogs.ShowAsync<CreateRunDialog>("New run", new DialogOptions { MaxWidth = MaxWidth.Medium, FullWidth = true, CloseOnEscapeKey = true });
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

        if (await Runs.CancelAsync(run.Id, Disposed))
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
