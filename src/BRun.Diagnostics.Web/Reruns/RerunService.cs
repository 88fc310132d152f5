using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Reruns;
using BRun.Diagnostics.Web.Failures;

namespace BRun.Diagnostics.Web.Reruns;

/// <summary>
/// The parameters a person may change for a bulk re-run (the dialog's fields, the API's body). Null keeps the main
/// source run's value; a null <see cref="TemplateName"/> keeps each prompt exactly as it was sent.
/// </summary>
public sealed record RerunChanges
{
    public static RerunChanges None { get; } = new();

    public int? MaxTokens { get; init; }
    public string? Model { get; init; }
    public decimal? Temperature { get; init; }
    public string? TemplateName { get; init; }
    public int? TemplateVersion { get; init; }

    /// <summary><c>online</c> or <c>batch</c>; null keeps the source's.</summary>
    public string? Mode { get; init; }

    /// <summary>The store's request for the rows matching <paramref name="state"/>, or only <paramref name="failureIds"/> when given.</summary>
    public RerunRequest ToRequest(FailureFilterState state, IReadOnlyList<Guid>? failureIds)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new RerunRequest
        {
            Filter = state.ToFilter(),
            FailureIds = failureIds,
            MaxTokens = MaxTokens,
            Model = string.IsNullOrWhiteSpace(Model) ? null : Model.Trim(),
            Temperature = Temperature,
            TemplateName = string.IsNullOrWhiteSpace(TemplateName) ? null : TemplateName.Trim(),
            TemplateVersion = TemplateVersion,
            Mode = string.IsNullOrWhiteSpace(Mode) ? null : Mode,
        };
    }
}

/// <summary>
/// Bulk re-run for the dashboard and the HTTP API, always as the current user (scoped per request or circuit): the
/// store sees only the failures row-level security shows this user, and the new run is theirs.
/// </summary>
public sealed class RerunService(RunRerunStore store, ICurrentUser currentUser)
{
    /// <summary>What would be re-run (count, parameters, estimated cost) without creating anything.</summary>
    /// <exception cref="RerunRefusedException">A parameter cannot be used.</exception>
    public Task<RerunPlan> PlanAsync(FailureFilterState state, IReadOnlyList<Guid>? failureIds, RerunChanges changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        return store.PlanAsync(currentUser.UserId, changes.ToRequest(state, failureIds), cancellationToken);
    }

    /// <summary>Creates the re-run; the workers pick its tasks up.</summary>
    /// <exception cref="RerunRefusedException">A parameter cannot be used.</exception>
    /// <exception cref="RerunNothingToDoException">Nothing visible matches.</exception>
    public Task<RerunResult> CreateAsync(FailureFilterState state, IReadOnlyList<Guid>? failureIds, RerunChanges changes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        return store.CreateAsync(currentUser.UserId, changes.ToRequest(state, failureIds), cancellationToken);
    }
}
