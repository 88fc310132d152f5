using BRun.Diagnostics.Infrastructure.Alerts;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Web.Runs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BRun.Diagnostics.Web.Components.Runs;

/// <summary>A run's alert history and its editable alert rules (on the run page).</summary>
public sealed partial class RunAlertsPanel : LiveReloadingComponentBase
{
    private IReadOnlyList<RunAlert> _alerts = [];
    private RunAlertRules? _rules;
    private AlertRulesForm _form = new();
    private string? _rulesProblem;

    [Parameter, EditorRequired]
    public Guid RunId { get; set; }

    [Inject]
    private RunAlertService Alerts { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    protected override async Task OnParametersSetAsync()
    {
        FollowLiveEvents();
        await ReloadAsync();
        if (_rules is not null)
        {
            _form = AlertRulesForm.From(_rules);
        }
    }

    protected override bool Concerns(LiveEventBatch batch) => batch.Concerns(RunId);

    protected override async Task LoadAsync(CancellationToken cancellationToken)
    {
        _alerts = await Alerts.ListForRunAsync(RunId, cancellationToken);
        _rules ??= await Alerts.GetRulesAsync(RunId, cancellationToken);
    }

    private async Task SaveRulesAsync()
    {
        var rules = _form.ToRules();
        _rulesProblem = rules.Problem();
        if (_rulesProblem is null)
        {
            Snackbar.Add(await Alerts.UpdateRulesAsync(RunId, rules, Disposed) ? "Alert rules saved." : "This run is not yours to edit.", Severity.Info);
        }
    }
}

/// <summary>The rules as the form edits them: thresholds in percent.</summary>
public sealed class AlertRulesForm
{
    public int MinTasks { get; set; } = 20;
    public decimal? FailureRatePercent { get; set; }
    public bool PauseOnFailureRate { get; set; }
    public decimal? ApiErrorPercent { get; set; }
    public bool PauseOnApiErrorShare { get; set; }
    public bool NewPattern { get; set; }
    public bool PauseOnNewPattern { get; set; }
    public string? WebhookUrl { get; set; }
    public string WebhookFormat { get; set; } = Infrastructure.Alerts.WebhookFormat.Generic;

    public static AlertRulesForm From(RunAlertRules r) => new()
    {
        MinTasks = r.MinTasks, FailureRatePercent = r.FailureRateAbove * 100, PauseOnFailureRate = r.PauseOnFailureRate,
        ApiErrorPercent = r.ApiErrorShareAbove * 100, PauseOnApiErrorShare = r.PauseOnApiErrorShare, NewPattern = r.NewPattern,
        PauseOnNewPattern = r.PauseOnNewPattern, WebhookUrl = r.WebhookUrl, WebhookFormat = r.WebhookFormat,
    };

    public RunAlertRules ToRules() => new()
    {
        MinTasks = MinTasks, FailureRateAbove = FailureRatePercent / 100, PauseOnFailureRate = PauseOnFailureRate,
        ApiErrorShareAbove = ApiErrorPercent / 100, PauseOnApiErrorShare = PauseOnApiErrorShare, NewPattern = NewPattern,
        PauseOnNewPattern = PauseOnNewPattern, WebhookUrl = string.IsNullOrWhiteSpace(WebhookUrl) ? null : WebhookUrl.Trim(),
        WebhookFormat = WebhookFormat,
    };
}
