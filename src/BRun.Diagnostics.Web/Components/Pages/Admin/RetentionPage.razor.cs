using System.Data.Common;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Infrastructure.Retention;
using BRun.Diagnostics.Web.Components.Runs;
using BRun.Diagnostics.Web.Retention;
using Microsoft.AspNetCore.Components;

namespace BRun.Diagnostics.Web.Components.Pages.Admin;

/// <summary>Admins: the latest retention runs (the log <c>brun retention list</c> prints). The service refuses members.</summary>
public sealed partial class RetentionPage : ComponentBase
{
    private Page<RetentionRun>? _runs;
    private string? _problem;
    private bool _loaded;

    [Inject]
    private RetentionLogService Log { get; set; } = default!;

    protected override async Task OnInitializedAsync()
    {
        try
        {
            _runs = await Log.PageAsync(new PageRequest(0, RetentionLogService.PageSize), CancellationToken.None);
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

    internal static string When(DateTime utc) => RunFormat.Time(new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)));

    private static string CountText(Page<RetentionRun> page) => page.TotalCount > page.Items.Count
        ? $"The latest {RunFormat.Number(page.Items.Count)} of {RunFormat.Number(page.TotalCount)} runs (GET /api/retention/runs pages through all)."
        : $"{RunFormat.Number(page.TotalCount)} {(page.TotalCount == 1 ? "run" : "runs")}.";
}
