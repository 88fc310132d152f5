using System.Data.Common;
using System.Globalization;
using BRun.Diagnostics.Web.Runs;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BRun.Diagnostics.Web.Components.Runs;

/// <summary>
/// <c>/runs/compare?a=…&amp;b=…</c>: two runs side by side (failure rate by type, stop reason and pattern, the output-token
/// histograms overlaid, cost per good conversation). With only <c>a</c>, it offers the user's runs to pick <c>b</c>.
/// A run the user may not see (another member's) makes the page say "not found", as the run page does.
/// </summary>
public sealed partial class RunComparePage
{
    private List<BreadcrumbItem> _breadcrumbs = [new("Runs", "/runs")];
    private RunComparison? _comparison;
    private RunComparisonChart? _chart;
    private IReadOnlyList<RunView> _choices = [];
    private string? _problem;
    private bool _loading = true;
    private bool _interactive;

    [Inject]
    private RunComparisonService Comparisons { get; set; } = default!;

    [Inject]
    private RunDashboardService Runs { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    // The run ids arrive as text: Blazor throws on a query value it cannot convert, and "?a=abc" was a 500.

    /// <summary>The first run (the source, for a re-run).</summary>
    [SupplyParameterFromQuery(Name = "a")]
    public string? AText { get; set; }

    /// <summary>The second run (the re-run).</summary>
    [SupplyParameterFromQuery(Name = "b")]
    public string? BText { get; set; }

    private Guid? A => Guid.TryParse(AText, out var id) ? id : null;

    private Guid? B => Guid.TryParse(BText, out var id) ? id : null;

    /// <summary>Loads so far (tests wait for them).</summary>
    internal int Loads { get; private set; }

    protected override async Task OnParametersSetAsync()
    {
        _loading = true;
        (_comparison, _chart, _problem) = (null, null, null);
        try
        {
            if ((AText is not null && A is null) || (BText is not null && B is null))
            {
                _problem = "This link's a or b is not a run id (a GUID such as 3f2504e0-4f89-11d3-9a0c-0305e82c3301): give two runs to compare, /runs/compare?a=RUN_ID&b=RUN_ID.";
            }
            else if (A is not { } a)
            {
                _problem = "Give two runs to compare: /runs/compare?a=RUN_ID&b=RUN_ID.";
            }
            else if (B is not { } b)
            {
                _choices = [.. (await Runs.ListAsync(CancellationToken.None)).Where(r => r.Id != a)];
                if (await Runs.GetAsync(a, CancellationToken.None) is null)
                {
                    _problem = "This run does not exist, or it is not yours.";
                }
            }
            else
            {
                _comparison = await Comparisons.CompareAsync(a, b, CancellationToken.None);
                _chart = _comparison is null ? null : RunComparisonChart.From(_comparison);
                _problem = _comparison is null ? "One of these runs does not exist, or it is not yours." : null;
            }
        }
        catch (DbException)
        {
            _problem = "Could not load the runs: the database did not answer.";
        }
        finally
        {
            _breadcrumbs = [new("Runs", "/runs"), new("Compare", href: null, disabled: true)];
            _loading = false;
            Loads++;
        }
    }

    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender)
        {
            _interactive = true;
            StateHasChanged();
        }
    }

    private Task PickAsync(Guid? b)
    {
        if (b is { } other && A is { } a)
        {
            Navigation.NavigateTo(Url(a, other));
        }

        return Task.CompletedTask;
    }

    /// <summary>The compare page of two runs.</summary>
    public static string Url(Guid a, Guid b) => $"/runs/compare?a={a:D}&b={b:D}";

    private static string Percent(double? rate) => rate is { } r ? (r * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %" : "–";

    private static string Change(double? points) => points switch
    {
        null => "–",
        0 => "±0.0 pp",
        > 0 => "+" + points.Value.ToString("0.0", CultureInfo.InvariantCulture) + " pp",
        _ => points.Value.ToString("0.0", CultureInfo.InvariantCulture) + " pp",
    };
}
