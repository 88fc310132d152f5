using System.Globalization;
using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Datasets;

namespace BRun.Diagnostics.Web.Datasets;

/// <summary>The outcome of a release: the conversation put back, or why nothing was released.</summary>
public sealed record ReleaseOutcome(Guid? ConversationId, string? Problem)
{
    public bool Released => ConversationId is not null;
}

/// <summary>
/// What the Datasets page does, always as the current user (scoped per circuit): list datasets and scans, import an
/// uploaded file, start a scan, release a quarantined row, and export. Each action goes through the service the CLI
/// and the HTTP API use (<see cref="DatasetImporter"/>, <see cref="QuarantineScanner"/>, <see cref="TrainingExporter"/>),
/// so the page cannot do anything they would not; row-level security decides what the user sees and may change.
/// </summary>
public sealed class DatasetDashboardService(
    DatasetReader reader,
    DatasetImporter importer,
    QuarantineScanner scanner,
    TrainingExporter exporter,
    DashboardScanRunner runner,
    ICurrentUser currentUser)
{
    /// <summary>The largest file the page uploads (2 GiB): the import streams it, so this bounds time, not memory.</summary>
    public const long MaxUploadBytes = 2L * 1024 * 1024 * 1024;

    /// <summary>The longest release reason kept.</summary>
    public const int MaxReasonLength = 2000;

    public bool IsAdmin => currentUser.IsAdmin;

    public Task<IReadOnlyList<DatasetSummary>> ListDatasetsAsync(CancellationToken ct) => reader.ListDatasetsAsync(currentUser.Identity, ct);

    public Task<IReadOnlyList<ScanSummary>> ListScansAsync(CancellationToken ct) => reader.ListScansAsync(currentUser.Identity, ct);

    public Task<ScanSummary?> GetScanAsync(Guid scanId, CancellationToken ct) => reader.GetScanAsync(currentUser.Identity, scanId, ct);

    public Task<IReadOnlyList<ScanFindingRow>> ListFindingsAsync(Guid scanId, CancellationToken ct) => reader.ListFindingsAsync(currentUser.Identity, scanId, ct);

    /// <summary>Why <paramref name="label"/> cannot name a dataset, or null when it can (the API's rule).</summary>
    public static string? LabelProblem(string? label) =>
        string.IsNullOrWhiteSpace(label) ? "A dataset name is required."
        : label.Length > 200 || label.Any(char.IsControl) ? "A dataset name has at most 200 characters and no control characters."
        : null;

    /// <summary>Imports one uploaded file into the dataset <paramref name="label"/> (created when new), streamed.</summary>
    public Task<ImportSummary> ImportAsync(string label, TrainingFormat format, string fileName, Stream content, CancellationToken ct)
    {
        if (LabelProblem(label) is { } problem)
        {
            throw new ArgumentException(problem, nameof(label));
        }

        return importer.ImportStreamAsync(currentUser.UserId, label, format, Path.GetFileName(fileName), content, ct);
    }

    /// <summary>Starts (or resumes) a scan of one dataset, or of everything the user may see when <paramref name="datasetId"/> is null.</summary>
    public Task<Guid> StartScanAsync(Guid? datasetId, bool dryRun, CancellationToken ct) =>
        runner.StartAsync(currentUser.UserId, datasetId is { } id ? ScanScope.Dataset(id) : ScanScope.All, dryRun, ct);

    public bool IsRunningHere(Guid scanId) => runner.IsRunning(scanId);

    /// <summary>
    /// Puts a quarantined conversation back, recording the current user and <paramref name="reason"/> on the failed
    /// generation (<see cref="QuarantineScanner.ReleaseAsync"/>, as <c>brun scan release</c>). A reason is required.
    /// </summary>
    public async Task<ReleaseOutcome> ReleaseAsync(Guid failureId, string? reason, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            return new ReleaseOutcome(null, "A reason is required: say why this conversation is fine as it is.");
        }

        if (reason.Length > MaxReasonLength)
        {
            return new ReleaseOutcome(null, $"A reason has at most {MaxReasonLength:N0} characters.");
        }

        var conversation = await scanner.ReleaseAsync(currentUser.UserId, failureId, reason.Trim(), ct).ConfigureAwait(false);
        return conversation is null
            ? new ReleaseOutcome(null, "Nothing to release: it was released already, or it is not a quarantined row you may release.")
            : new ReleaseOutcome(conversation, null);
    }

    /// <summary>The download of a training export (the API's ZIP: the JSONL, then its manifest), for a link on the page.</summary>
    public static string ExportUrl(TrainingFormat format, Guid? datasetId, bool includeSimulated)
    {
        var query = new List<string> { "format=" + format.ToWire() };
        if (datasetId is { } id)
        {
            query.Add("dataset=" + id.ToString("D", CultureInfo.InvariantCulture));
        }

        if (includeSimulated)
        {
            query.Add("include_simulated=true");
        }

        return "/api/export/training?" + string.Join('&', query);
    }

    /// <summary>
    /// The manifest the export would write now (counts, SHA-256, what is left out and why), without keeping the JSONL:
    /// the page shows it next to the download link. It reads and validates every row, like the export itself.
    /// </summary>
    public Task<TrainingExportManifest> ExportManifestAsync(TrainingFormat format, Guid? datasetId, bool includeSimulated, CancellationToken ct) =>
        exporter.ExportAsync(currentUser.UserId, format, new TrainingExportFilter(datasetId, IncludeSimulated: includeSimulated), Stream.Null, ct);
}
