using System.Data.Common;
using BRun.Diagnostics.Web.Failures;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;
using MudBlazor;

namespace BRun.Diagnostics.Web.Components.Pages.FailedGenerations;

/// <summary>
/// The report of one failure: summary, token analysis, stop-reason analysis and conclusion (read from the RAW
/// report), error details and where the content was cut. Esc closes it (dialog option); Copy puts the RAW report
/// on the clipboard.
/// </summary>
public sealed partial class FailureReportDialog
{
    private FailureReportView? _report;
    private bool _loading = true;
    private bool _copied;
    private string? _problem;

    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = default!;

    [Parameter, EditorRequired]
    public Guid FailureId { get; set; }

    [Inject]
    private FailureDashboardService Failures { get; set; } = default!;

    [Inject]
    private IJSRuntime JS { get; set; } = default!;

    protected override async Task OnParametersSetAsync()
    {
        try
        {
            _report = await Failures.GetReportAsync(FailureId, CancellationToken.None);
        }
        catch (DbException)
        {
            _problem = "Could not load the report: the database did not answer.";
        }
        finally
        {
            _loading = false;
        }
    }

    private async Task CopyAsync()
    {
        if (_report is null)
        {
            return;
        }

        try
        {
            await JS.InvokeVoidAsync("navigator.clipboard.writeText", _report.ReportJson);
            _copied = true;
        }
        catch (JSException)
        {
            // Clipboard refused (no permission or not a secure context): say so rather than pretend.
            _problem = "The browser did not allow copying.";
        }
    }

    private void Close() => Dialog.Close();
}
