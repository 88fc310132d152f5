using System.Data.Common;
using System.Globalization;
using BRun.Diagnostics.Core.Datasets;
using BRun.Diagnostics.Infrastructure.Datasets;
using BRun.Diagnostics.Web.Datasets;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;

namespace BRun.Diagnostics.Web.Components.Datasets;

/// <summary>
/// The Datasets page: datasets with their counts, upload, quarantine scans with live progress and their findings,
/// release with a reason, and the training export. Every action is one call into <see cref="DatasetDashboardService"/>.
/// </summary>
public sealed partial class DatasetsPage : IDisposable
{
    private readonly CancellationTokenSource _disposed = new();
    private IDisposable? _subscription;
    private IReadOnlyList<DatasetSummary> _datasets = [];
    private IReadOnlyList<ScanSummary> _scans = [];
    private ScanSummary? _scan;
    private IReadOnlyList<ScanFindingRow> _findings = [];
    private Guid? _shownScanId;
    private bool _interactive;
    private int _reloadVersion;
    private string? _problem;

    private string _importLabel = string.Empty;
    private TrainingFormat _importFormat = TrainingFormat.Auto;
    private bool _importing;
    private ImportSummary? _importSummary;
    private string? _importProblem;

    private Guid? _scanDataset;
    private bool _dryRun = true;
    private string? _scanProblem;

    private ScanFindingRow? _releasing;
    private string _releaseReason = string.Empty;
    private string? _releaseProblem;
    private string? _releaseDone;

    private TrainingFormat _exportFormat = TrainingFormat.OpenAi;
    private bool _includeSimulated;
    private Guid? _manifestDataset;
    private TrainingExportManifest? _manifest;

    [Inject]
    private DatasetDashboardService Datasets { get; set; } = default!;

    [Inject]
    private DashboardScanRunner Runner { get; set; } = default!;

    /// <summary>The scan shown, from <c>?scan=ID</c> (text: Blazor throws on a query value it cannot convert).</summary>
    [SupplyParameterFromQuery(Name = "scan")]
    public string? ScanText { get; set; }

    private Guid? ScanId => Guid.TryParse(ScanText, out var id) ? id : null;

    private static readonly TrainingFormat[] ImportFormats = [TrainingFormat.Auto, TrainingFormat.OpenAi, TrainingFormat.ShareGpt, TrainingFormat.MessagesApi];

    private static readonly TrainingFormat[] ExportFormats = [TrainingFormat.OpenAi, TrainingFormat.ShareGpt];

    public void Dispose()
    {
        _subscription?.Dispose();
        _disposed.Cancel();
        _disposed.Dispose();
    }

    protected override async Task OnInitializedAsync()
    {
        _shownScanId = ScanId;
        _subscription = Runner.Subscribe(OnScanUpdateAsync);
        await ReloadAsync();
    }

    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender)
        {
            _interactive = true;
            StateHasChanged();
        }
    }

    private async Task ReloadAsync()
    {
        // Reloads can overlap (a scan update arrives while an action's reload awaits the database): only the latest
        // one may assign, so an older read finishing last cannot put stale numbers back on the screen.
        var version = ++_reloadVersion;
        try
        {
            var datasets = await Datasets.ListDatasetsAsync(_disposed.Token);
            var scans = await Datasets.ListScansAsync(_disposed.Token);
            var shown = _shownScanId ?? scans.FirstOrDefault()?.Id;
            var scan = shown is { } id ? await Datasets.GetScanAsync(id, _disposed.Token) : null;
            var findings = scan is not null ? await Datasets.ListFindingsAsync(scan.Id, _disposed.Token) : [];
            if (version != _reloadVersion)
            {
                return;
            }

            (_datasets, _scans, _scan, _findings) = (datasets, scans, scan, findings);
            _problem = ScanText is not null && ScanId is null && _shownScanId is null
                ? "This link's scan is not a scan id (a GUID); the latest scan is shown."
                : null;
        }
        catch (DbException)
        {
            _problem = "Could not reach the database; showing the last known state.";
        }
    }

    private async Task OnScanUpdateAsync(ScanUpdate update)
    {
        try
        {
            await InvokeAsync(async () =>
            {
                // Only the scan on screen matters (checked on the renderer, in order with the page's own actions);
                // its numbers are re-read as this user (row-level security).
                if ((_shownScanId ?? _scan?.Id) != update.ScanId)
                {
                    return;
                }

                if (update.Problem is not null)
                {
                    _scanProblem = update.Problem;
                }

                await ReloadAsync();
                StateHasChanged();
            });
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await DispatchExceptionAsync(ex);
        }
    }

    private async Task UploadAsync(IBrowserFile? file)
    {
        _importSummary = null;
        _importProblem = DatasetDashboardService.LabelProblem(_importLabel);
        if (file is null || _importProblem is not null)
        {
            return;
        }

        _importing = true;
        try
        {
            await using var stream = file.OpenReadStream(DatasetDashboardService.MaxUploadBytes, _disposed.Token);
            _importSummary = await Datasets.ImportAsync(_importLabel, _importFormat, file.Name, stream, _disposed.Token);
        }
        catch (IOException ex)
        {
            _importProblem = $"The upload stopped: {ex.Message}";
        }
        finally
        {
            _importing = false;
        }

        await ReloadAsync();
    }

    private async Task StartScanAsync()
    {
        _scanProblem = null;
        var scanId = await Datasets.StartScanAsync(_scanDataset, _dryRun, _disposed.Token);
        _shownScanId = scanId;
        await ReloadAsync();
    }

    private async Task ShowScanAsync(Guid scanId)
    {
        _shownScanId = scanId;
        _releasing = null;
        await ReloadAsync();
    }

    private void BeginRelease(ScanFindingRow finding)
    {
        _releasing = finding;
        _releaseReason = string.Empty;
        _releaseProblem = null;
        _releaseDone = null;
    }

    private void CancelRelease() => _releasing = null;

    private async Task ConfirmReleaseAsync()
    {
        if (_releasing?.FailureId is not { } failureId)
        {
            return;
        }

        var outcome = await Datasets.ReleaseAsync(failureId, _releaseReason, _disposed.Token);
        if (!outcome.Released)
        {
            _releaseProblem = outcome.Problem;
            return;
        }

        _releaseDone = $"Conversation {outcome.ConversationId} is back in production.";
        _releasing = null;
        await ReloadAsync();
    }

    private async Task ShowManifestAsync(Guid datasetId)
    {
        _manifestDataset = datasetId;
        _manifest = await Datasets.ExportManifestAsync(_exportFormat, datasetId, _includeSimulated, _disposed.Token);
    }

    private string ExportUrl(Guid datasetId) => DatasetDashboardService.ExportUrl(_exportFormat, datasetId, _includeSimulated);

    private bool IsRunningHere => _scan is not null && Datasets.IsRunningHere(_scan.Id);

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Rate(double? perSecond) => perSecond is { } r ? r.ToString("N0", CultureInfo.InvariantCulture) + "/s" : "–";

    private static string Time(DateTime utc) => DateTime.SpecifyKind(utc, DateTimeKind.Utc).ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string ScopeText(ScanSummary scan) => scan.Scope switch
    {
        "dataset" => $"dataset {scan.DatasetName}",
        "run" => "one run",
        _ => "everything",
    };

    private static string FormatName(TrainingFormat format) => format switch
    {
        TrainingFormat.Auto => "auto (by line)",
        TrainingFormat.OpenAi => "openai",
        TrainingFormat.ShareGpt => "sharegpt",
        _ => "messages-api (one saved body or SSE)",
    };
}
