using BRun.Diagnostics.Core.Design;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Design;

namespace BRun.Diagnostics.Web.Design;

/// <summary>
/// What the Design area, the New run dialog, the run page and the failure report ask about templates and scaffolding,
/// always as the current user (scoped per request or circuit); row-level security decides what that user sees.
/// </summary>
public sealed class DesignDashboardService(
    DesignStore store,
    GenerationDesignReader reader,
    PromptPreviewService previews,
    ICurrentUser currentUser)
{
    /// <summary>For showing admin-only actions; the database decides what an admin may do.</summary>
    public bool IsAdmin => currentUser.IsAdmin;

    public Guid UserId => currentUser.UserId;

    public Task<IReadOnlyList<TemplateRecord>> ListTemplatesAsync(bool includeArchived, CancellationToken ct) =>
        store.ListTemplatesAsync(currentUser.Identity, includeArchived, ct);

    public Task<TemplateRecord?> FindTemplateAsync(string name, CancellationToken ct) =>
        store.FindTemplateAsync(currentUser.Identity, name, includeArchived: true, ct);

    public Task<TemplateRecord> CreateTemplateAsync(string name, string body, bool shared, CancellationToken ct) =>
        store.CreateTemplateAsync(currentUser.Identity, name, body, shared, ct);

    public Task<TemplateRecord> UpdateTemplateAsync(string name, string body, CancellationToken ct) =>
        store.UpdateTemplateAsync(currentUser.Identity, name, body, ct);

    public Task<IReadOnlyList<TemplateVersionRecord>> ListVersionsAsync(Guid templateId, CancellationToken ct) =>
        store.ListVersionsAsync(currentUser.Identity, templateId, ct);

    public Task<TemplateVersionRecord?> GetVersionAsync(Guid templateId, int version, CancellationToken ct) =>
        store.GetVersionAsync(currentUser.Identity, templateId, version, ct);

    public Task SetTemplateArchivedAsync(string name, bool archived, CancellationToken ct) =>
        store.SetTemplateArchivedAsync(currentUser.Identity, name, archived, ct);

    public Task SetTemplateSharedAsync(string name, bool shared, CancellationToken ct) =>
        store.SetTemplateSharedAsync(currentUser.Identity, name, shared, ct);

    public Task<IReadOnlyList<ScaffoldingRecord>> ListScaffoldingAsync(ScaffoldingKind kind, bool includeArchived, CancellationToken ct) =>
        store.ListScaffoldingAsync(currentUser.Identity, kind, includeArchived, ct);

    public Task<ScaffoldingRecord> AddScaffoldingAsync(ScaffoldingKind kind, string key, string name, string description, bool shared, CancellationToken ct) =>
        store.AddScaffoldingAsync(currentUser.Identity, kind, key, name, description, shared, ct);

    public Task<ScaffoldingRecord> UpdateScaffoldingAsync(ScaffoldingKind kind, string key, string? name, string? description, CancellationToken ct) =>
        store.UpdateScaffoldingAsync(currentUser.Identity, kind, key, name, description, ct);

    public Task SetScaffoldingArchivedAsync(ScaffoldingKind kind, string key, bool archived, CancellationToken ct) =>
        store.SetScaffoldingArchivedAsync(currentUser.Identity, kind, key, archived, ct);

    public Task SetScaffoldingSharedAsync(ScaffoldingKind kind, string key, bool shared, CancellationToken ct) =>
        store.SetScaffoldingSharedAsync(currentUser.Identity, kind, key, shared, ct);

    /// <summary>The prompt exactly as a run would send it, its token count and the run's estimated cost.</summary>
    public Task<PromptPreview> PreviewAsync(PromptPreviewRequest request, CancellationToken ct) =>
        previews.PreviewAsync(currentUser.Identity, request, ct);

    public Task<RunDesign?> GetRunDesignAsync(Guid runId, CancellationToken ct) =>
        reader.GetRunDesignAsync(currentUser.Identity, runId, ct);

    public Task<TaskDesign?> GetTaskDesignAsync(Guid taskId, CancellationToken ct) =>
        reader.GetTaskDesignAsync(currentUser.Identity, taskId, ct);

    public Task<IReadOnlyList<BreakdownRow>> GetRunBreakdownAsync(Guid runId, CancellationToken ct) =>
        reader.GetRunBreakdownAsync(currentUser.Identity, runId, ct);

    public Task<IReadOnlyList<BreakdownRow>> GetBreakdownAsync(Guid? runId, DateTimeOffset? from, DateTimeOffset? to, string? model, CancellationToken ct) =>
        reader.GetBreakdownAsync(currentUser.Identity, runId, from, to, model, ct);

    /// <summary>The line diff between two versions' bodies (older first).</summary>
    public static IReadOnlyList<DiffLine> Diff(string olderBody, string newerBody) => LineDiff.Compute(olderBody, newerBody);

    /// <summary>How many tasks a matrix makes, for the dialog's running total; null when it cannot be known yet.</summary>
    public static int? TaskCount(int personas, int arcs, int topics, int? perCombination, int count) =>
        perCombination is { } n ? (personas == 0 || arcs == 0 || topics == 0 ? null : personas * arcs * topics * n) : count;
}
