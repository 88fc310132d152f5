using BRun.Diagnostics.Infrastructure.Alerts;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Pipeline;

namespace BRun.Diagnostics.Web.Runs;

/// <summary>
/// Alerts, alert rules and pause/resume for the pages and the API, always as the current user (scoped): row-level
/// security keeps another member's runs and alerts out of sight, so acting on them finds nothing.
/// </summary>
public sealed class RunAlertService(RunAlertStore alerts, RunStore runs, ICurrentUser currentUser)
{
    /// <summary>Runs the banner shows at most.</summary>
    public const int BannerRuns = 5;

    /// <summary>
    /// Undismissed alerts read for the banner: enough that a paused run (which waits for a person) is not hidden behind
    /// a few busy runs' new patterns, and the banner sorts it first.
    /// </summary>
    private const int BannerAlerts = 100;

    /// <summary>The banner's runs with undismissed alerts (<see cref="RunAlertGroup.From"/>).</summary>
    public async Task<IReadOnlyList<RunAlertGroup>> ListBannerAsync(CancellationToken ct) =>
        RunAlertGroup.From(await alerts.ListActiveAsync(currentUser.Identity, BannerAlerts, ct).ConfigureAwait(false), BannerRuns);

    public Task<IReadOnlyList<RunAlert>> ListForRunAsync(Guid runId, CancellationToken ct) =>
        alerts.ListForRunAsync(currentUser.Identity, runId, ct);

    public Task<bool> DismissAsync(Guid alertId, CancellationToken ct) =>
        alerts.DismissAsync(currentUser.Identity, alertId, ct);

    /// <summary>Dismisses every alert of a banner entry.</summary>
    public async Task DismissAsync(RunAlertGroup group, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(group);
        foreach (var id in group.AlertIds)
        {
            await alerts.DismissAsync(currentUser.Identity, id, ct).ConfigureAwait(false);
        }
    }

    public Task<RunAlertRules?> GetRulesAsync(Guid runId, CancellationToken ct) =>
        alerts.GetRulesAsync(currentUser.Identity, runId, ct);

    /// <summary>False when the run is not visible. Throws <see cref="ArgumentException"/> for invalid rules.</summary>
    public Task<bool> UpdateRulesAsync(Guid runId, RunAlertRules rules, CancellationToken ct) =>
        alerts.UpdateRulesAsync(currentUser.Identity, runId, rules, ct);

    public Task<bool> PauseAsync(Guid runId, CancellationToken ct) =>
        runs.PauseAsync(currentUser.Identity, runId, "paused by a person", ct);

    public Task<bool> ResumeAsync(Guid runId, CancellationToken ct) =>
        runs.ResumeAsync(currentUser.Identity, runId, ct);

    public Task<bool> CancelAsync(Guid runId, CancellationToken ct) =>
        runs.CancelAsync(currentUser.Identity, runId, ct);
}
