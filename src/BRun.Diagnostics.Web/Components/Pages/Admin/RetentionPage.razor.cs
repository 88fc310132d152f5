using System.Data.Common;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Retention;
using BRun.Diagnostics.Web.Components.Runs;
using BRun.Diagnostics.Web.Retention;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BRun.Diagnostics.Web.Components.Pages.Admin;

/// <summary>
/// Admins: the retention log (what <c>brun retention list</c> prints), a page at a time, a dry run for an age of
/// their choosing, and then, confirmed, the real run for that age (in the background: the page follows its row). The
/// service refuses members.
/// </summary>
public sealed partial class RetentionPage : ComponentBase, IDisposable
{
    /// <summary>How often the page re-reads the log while a run in it is running.</summary>
    internal static readonly TimeSpan FollowInterval = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _gone = new();
    private Page<RetentionRun>? _runs;
    private int _pageIndex;
    private string? _problem;
    private bool _loaded;
    private int? _days;
    private bool _dryRunning;
    private string? _dryRunMessage;
    private bool _dryRunFailed;
    private RetentionRun? _lastDryRun;
    private bool _starting;
    private string? _runMessage;
    private bool _runFailed;

    [Inject]
    private RetentionLogService Log { get; set; } = default!;

    [Inject]
    private IDialogService Dialogs { get; set; } = default!;

    [Inject]
    private TimeProvider Time { get; set; } = default!;

    protected override async Task OnInitializedAsync()
    {
        _days = Log.ConfiguredDays > 0 ? Log.ConfiguredDays : 30;
        await LoadAsync(0);
    }

    private async Task LoadAsync(int pageIndex)
    {
        try
        {
            _runs = await Log.PageAsync(new PageRequest(pageIndex, RetentionLogService.PageSize), CancellationToken.None);
            _pageIndex = pageIndex;
            _problem = _runs is null ? "The retention log is for admins." : null;
        }
        catch (DbException)
        {
            _problem = "Could not load the retention log: the database did not answer.";
        }
        finally
        {
            _loaded = true;
        }
    }

    private async Task DryRunAsync()
    {
        _dryRunning = true;
        try
        {
            var (run, error) = await Log.DryRunAsync(_days, CancellationToken.None);
            _dryRunFailed = error is not null;
            _dryRunMessage = error ?? DryRunText(run!);
            _lastDryRun = error is null ? run : null;
            _runMessage = null;
            if (run is not null)
            {
                await LoadAsync(0);
            }
        }
        finally
        {
            _dryRunning = false;
        }
    }

    /// <summary>The real run for the age of the last dry run, once the admin confirms it; then the page follows it.</summary>
    private async Task StartRunAsync()
    {
        if (_lastDryRun is not { } dry)
        {
            return;
        }

        var confirmed = await Dialogs.ShowMessageBoxAsync(
            "Delete for good?", ConfirmText(dry), yesText: "Delete", cancelText: "Cancel",
            options: new DialogOptions { CloseOnEscapeKey = true }).ConfigureAwait(true);
        if (confirmed != true)
        {
            return;
        }

        _starting = true;
        try
        {
            var error = await Log.StartRunAsync(dry.OlderThanDays, CancellationToken.None).ConfigureAwait(true);
            _runFailed = error is not null;
            _runMessage = error ?? $"Retention for {RunFormat.Number(dry.OlderThanDays)} days started. It shows in the log below until it finishes; closing the page does not stop it.";
            if (error is null)
            {
                // Another real run needs another dry run: the count shown was for this moment.
                _lastDryRun = null;
                _dryRunMessage = null;
                _ = FollowAsync();
            }
        }
        finally
        {
            _starting = false;
        }
    }

    /// <summary>Stops the run started from the dashboard; what was deleted stays deleted, and its row says cancelled.</summary>
    private async Task StopRunAsync()
    {
        var error = await Log.StopRunAsync(CancellationToken.None).ConfigureAwait(true);
        _runFailed = error is not null;
        _runMessage = error ?? "Stopping: what was deleted stays deleted, and the run's row will say cancelled.";
    }

    /// <summary>Re-reads the log's page until no run on it is running (a few times first: the run's row may not be written yet).</summary>
    private async Task FollowAsync()
    {
        try
        {
            for (var i = 0; !_gone.IsCancellationRequested && (i < 5 || _runs?.Items.Any(r => r.Status == RetentionStatus.Running) == true); i++)
            {
                await Task.Delay(FollowInterval, Time, _gone.Token).ConfigureAwait(true);
                await InvokeAsync(async () =>
                {
                    await LoadAsync(_pageIndex);
                    StateHasChanged();
                }).ConfigureAwait(true);
            }
        }
        catch (OperationCanceledException) when (_gone.IsCancellationRequested)
        {
            // The page closed; the run goes on.
        }
    }

    public void Dispose()
    {
        _gone.Cancel();
        _gone.Dispose();
    }

    internal static string ConfirmText(RetentionRun dry) =>
        $"This deletes the failed generations older than {RunFormat.Number(dry.OlderThanDays)} days and their RAW reports: "
        + $"{RunFormat.Number(dry.FailuresDeleted)} by the dry run just now, and any that reached that age since. Quarantined "
        + "conversations, reports still uploading and conversations are kept. It cannot be undone.";

    internal static string DryRunText(RetentionRun run) =>
        $"Dry run for {RunFormat.Number(run.OlderThanDays)} days (older than {When(run.Cutoff)}): {RunFormat.Number(run.FailuresDeleted)} failed "
        + $"{(run.FailuresDeleted == 1 ? "generation" : "generations")} and their RAW reports would be deleted; "
        + $"{RunFormat.Number(run.KeptQuarantined)} quarantined and {RunFormat.Number(run.KeptRetrying)} still uploading would be kept. Nothing was deleted.";

    internal static string When(DateTime utc) => RunFormat.Time(new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)));

    private bool HasOlder(Page<RetentionRun> page) => (long)(_pageIndex + 1) * RetentionLogService.PageSize < page.TotalCount;

    private string CountText(Page<RetentionRun> page)
    {
        if (page.TotalCount <= page.Items.Count && _pageIndex == 0)
        {
            return $"{RunFormat.Number(page.TotalCount)} {(page.TotalCount == 1 ? "run" : "runs")}.";
        }

        var first = ((long)_pageIndex * RetentionLogService.PageSize) + 1;
        return $"Runs {RunFormat.Number(first)}–{RunFormat.Number(first + page.Items.Count - 1)} of {RunFormat.Number(page.TotalCount)}, newest first.";
    }
}
