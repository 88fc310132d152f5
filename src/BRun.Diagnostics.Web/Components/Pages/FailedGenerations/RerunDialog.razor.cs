using System.Data.Common;
using System.Globalization;
using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.Infrastructure.Reruns;
using BRun.Diagnostics.Web.Design;
using BRun.Diagnostics.Web.Failures;
using BRun.Diagnostics.Web.Reruns;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BRun.Diagnostics.Web.Components.Pages.FailedGenerations;

/// <summary>
/// The bulk re-run confirmation: the changed parameters, and (re-counted on every change) how many failed generations
/// will be generated again and what that may cost. Confirm is disabled while a parameter is invalid or nothing
/// matches. Closes with the new run's id.
/// </summary>
public sealed partial class RerunDialog
{
    private readonly ChangesForm _changes = new();
    private (string? MaxTokens, string? Temperature, string? Model) _unchanged;
    private IReadOnlyList<TemplateRecord> _templates = [];
    private RerunPlan? _plan;
    private string? _problem;
    private bool _loading;
    private bool _busy;
    private int _planVersion;

    [CascadingParameter]
    private IMudDialogInstance MudDialog { get; set; } = default!;

    [Inject]
    private RerunService Reruns { get; set; } = default!;

    [Inject]
    private DesignDashboardService Design { get; set; } = default!;

    /// <summary>The grid's filters (used when <see cref="FailureIds"/> is null).</summary>
    [Parameter]
    public FailureFilterState Filter { get; set; } = FailureFilterState.Empty;

    /// <summary>The selected rows; null for every row matching <see cref="Filter"/>.</summary>
    [Parameter]
    public IReadOnlyList<Guid>? FailureIds { get; set; }

    private bool CanConfirm => !_busy && !_loading && _problem is null && _plan is { Count: > 0 };

    protected override async Task OnInitializedAsync()
    {
        _templates = await Design.ListTemplatesAsync(includeArchived: false, CancellationToken.None);
        await RefreshPlanAsync();
        if (_plan is { } plan)
        {
            // The source's values, shown as placeholders of the empty fields.
            _unchanged = (plan.MaxTokens.ToString(CultureInfo.InvariantCulture), plan.Temperature?.ToString("0.00", CultureInfo.InvariantCulture), plan.Model);
        }
    }

    private async Task RefreshPlanAsync()
    {
        var version = ++_planVersion;
        var changes = _changes.ToChanges();
        var request = changes.ToRequest(Filter, FailureIds);
        if (request.Problems() is [var first, ..])
        {
            (_plan, _problem, _loading) = (null, first.Message, false);
            return;
        }

        _loading = true;
        try
        {
            var plan = await Reruns.PlanAsync(Filter, FailureIds, changes, CancellationToken.None);
            if (version == _planVersion)
            {
                (_plan, _problem) = (plan, plan.IsEmpty ? "Nothing to re-run: no failed generation you can see matches (or none came from a generation task)." : null);
            }
        }
        catch (RerunRefusedException ex) when (version == _planVersion)
        {
            (_plan, _problem) = (null, ex.Message);
        }
        catch (DbException) when (version == _planVersion)
        {
            (_plan, _problem) = (null, "Could not count the failed generations: the database did not answer.");
        }
        finally
        {
            if (version == _planVersion)
            {
                _loading = false;
            }
        }
    }

    private async Task ConfirmAsync()
    {
        _busy = true;
        try
        {
            var result = await Reruns.CreateAsync(Filter, FailureIds, _changes.ToChanges(), CancellationToken.None);
            MudDialog.Close(DialogResult.Ok(result.RunId));
        }
        catch (Exception ex) when (ex is RerunRefusedException or RerunNothingToDoException)
        {
            _problem = ex.Message;
        }
        finally
        {
            _busy = false;
        }
    }

    private void Cancel() => MudDialog.Cancel();

    internal static string CostText(RerunPlan plan) => plan.EstimatedCostUsd is { } cost
        ? string.Create(CultureInfo.InvariantCulture, $"Estimated cost: at most ${cost:0.00##} ({plan.InputTokens:N0} input tokens, as before, plus max_tokens of output for each)")
        : $"Estimated cost: unavailable (no price for {plan.Model})";

    /// <summary>The dialog's fields; empty means unchanged.</summary>
    private sealed class ChangesForm
    {
        public int? MaxTokens { get; set; }
        public decimal? Temperature { get; set; }
        public string? Model { get; set; }
        public string? TemplateName { get; set; }
        public int? TemplateVersion { get; set; }
        public string? Mode { get; set; }

        public RerunChanges ToChanges() => new()
        {
            Mode = Mode,
            MaxTokens = MaxTokens, Temperature = Temperature, Model = Model,
            TemplateName = TemplateName, TemplateVersion = TemplateName is null ? null : TemplateVersion,
        };
    }
}
