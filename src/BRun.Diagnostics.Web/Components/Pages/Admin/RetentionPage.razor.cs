using System.Data.Common;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Retention;
using BRun.Diagnostics.Web.Components.Runs;
using BRun.Diagnostics.Web.Retention;
using Microsoft.AspNetCore.Components;

namespace BRun.Diagnostics.Web.Components.Pages.Admin;

/// <summary>
/// Admins: the retention log (what <c>brun retention list</c> prints), a page at a time, and a dry run for an age of
/// their choosing. The service refuses members.
/// </summary>
public sealed partial class RetentionPage : ComponentBase
{
    private Page<RetentionRun>? _runs;
    private int _pageIndex;
    private string? _problem;
    private bool _loaded;
    private int? _days;
    private bool _dryRunning;
    private string? _dryRunMessage;
    private bool _dryRunFailed;

    [Inject]
    private RetentionLogService Log { get; set; } = default!;

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
