using System.Globalization;
using BRun.Diagnostics.Infrastructure.Failures;
using BRun.Diagnostics.Web.Failures;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BRun.Diagnostics.Web.Components.Pages.FailedGenerations;

/// <summary>
/// The failures grid: one server-read page of rows, two sortable columns, row selection and a pager. The page owns the
/// data and reads it; this component only draws it and reports what was clicked.
/// </summary>
/// <remarks>
/// Not MudDataGrid: it reads server data only after its first render, a browser round trip after the circuit's first
/// batch, so its rows could be neither prerendered nor in that batch; and its per-row components (checkbox with a key
/// interceptor, chip, buttons, progress bar) made a 25-row render batch about 195 KB. Here a row is plain markup in
/// MudBlazor's classes, in the prerendered HTML and in the circuit's first render.
/// </remarks>
public sealed partial class FailuresTable : ComponentBase
{
    private static readonly int[] PageSizes = [25, 50, 100];
    private static readonly MarkupString SortArrow = new(Icons.Material.Filled.ArrowDownward);
    private static readonly MarkupString FirstIcon = new(Icons.Material.Filled.FirstPage);
    private static readonly MarkupString PreviousIcon = new(Icons.Material.Filled.NavigateBefore);
    private static readonly MarkupString NextIcon = new(Icons.Material.Filled.NavigateNext);
    private static readonly MarkupString LastIcon = new(Icons.Material.Filled.LastPage);

    private readonly Dictionary<Guid, ElementReference> _viewButtons = [];

    /// <summary>The rows of the current page.</summary>
    [Parameter, EditorRequired]
    public IReadOnlyList<FailureRowView> Rows { get; set; } = [];

    /// <summary>Rows matching the filters, on every page; null while they are being counted.</summary>
    [Parameter]
    public long? Total { get; set; }

    /// <summary>The current page, 0-based.</summary>
    [Parameter]
    public int PageIndex { get; set; }

    [Parameter]
    public int PageSize { get; set; } = 25;

    [Parameter]
    public FailedGenerationSort Sort { get; set; }

    /// <summary>A read is under way (a bar above the rows; "Loading…" while there are none yet).</summary>
    [Parameter]
    public bool Loading { get; set; }

    /// <summary>
    /// Whether the circuit is up. The prerendered HTML has no event handlers; its checkboxes stay disabled, since a box
    /// ticked there would show a selection the server never saw. Buttons are not greyed for that moment.
    /// </summary>
    [Parameter]
    public bool Interactive { get; set; }

    /// <summary>An admin's grid names each row's owner.</summary>
    [Parameter]
    public bool ShowOwners { get; set; }

    [Parameter]
    public string EmptyText { get; set; } = "No failed generations yet.";

    /// <summary>Rows shown as just arrived.</summary>
    [Parameter]
    public IReadOnlySet<Guid> Highlighted { get; set; } = new HashSet<Guid>();

    /// <summary>Selected failures, on this page and others.</summary>
    [Parameter]
    public IReadOnlySet<Guid> Selected { get; set; } = new HashSet<Guid>();

    [Parameter]
    public EventCallback<IReadOnlySet<Guid>> SelectedChanged { get; set; }

    [Parameter]
    public EventCallback<int> PageIndexChanged { get; set; }

    [Parameter]
    public EventCallback<int> PageSizeChanged { get; set; }

    [Parameter]
    public EventCallback<FailedGenerationSort> SortChanged { get; set; }

    [Parameter]
    public EventCallback<FailureRowView> ViewRequested { get; set; }

    /// <summary>Moves the focus back to a row's View button (after its report dialog closes); false when the row is gone.</summary>
    public async Task<bool> FocusViewAsync(Guid failureId)
    {
        if (!_viewButtons.TryGetValue(failureId, out var button) || Rows.All(r => r.Id != failureId))
        {
            return false;
        }

        await button.FocusAsync();
        return true;
    }

    protected override void OnParametersSet()
    {
        // References of rows no longer shown would only pile up over a long session of live reloads.
        if (_viewButtons.Count > Rows.Count)
        {
            var shown = Rows.Select(r => r.Id).ToHashSet();
            foreach (var id in _viewButtons.Keys.Where(id => !shown.Contains(id)).ToList())
            {
                _viewButtons.Remove(id);
            }
        }
    }

    private int ColumnCount => ShowOwners ? 10 : 9;

    /// <summary>Null while the total is unknown: Next then goes on as long as pages are full.</summary>
    private int? LastPageIndex => Total is not { } total ? null : total <= 0 ? 0 : (int)Math.Min(int.MaxValue, (total - 1) / PageSize);

    private bool NoNextPage => LastPageIndex is { } last ? PageIndex >= last : Rows.Count < PageSize;

    private bool AllOnPageSelected => Rows.Count > 0 && Rows.All(r => Selected.Contains(r.Id));

    private string RangeText
    {
        get
        {
            var of = Total is { } total ? FailureFormat.Number(Math.Max(total, 0)) : "…";
            if (Rows.Count == 0)
            {
                return "0-0 of " + of;
            }

            var first = ((long)PageIndex * PageSize) + 1;
            return $"{FailureFormat.Number(first)}-{FailureFormat.Number(first + Rows.Count - 1)} of {of}";
        }
    }

    private string RowClass(FailureRowView row) =>
        Highlighted.Contains(row.Id) ? "mud-table-row brun-failure-row brun-failure-row-new" : "mud-table-row brun-failure-row";

    private string AriaSort(FailedGenerationSort descending, FailedGenerationSort ascending) =>
        Sort == descending ? "descending" : Sort == ascending ? "ascending" : "none";

    private string SortIconClass(FailedGenerationSort descending, FailedGenerationSort ascending) =>
        Sort == descending ? "brun-sort-desc" : Sort == ascending ? "brun-sort-asc" : "brun-sort-none";

    // Newest first, then oldest first; the tokens column starts with the most, which is what a truncation hunt wants.
    private Task SortByDateAsync() =>
        SortChanged.InvokeAsync(Sort == FailedGenerationSort.NewestFirst ? FailedGenerationSort.OldestFirst : FailedGenerationSort.NewestFirst);

    private Task SortByTokensAsync() =>
        SortChanged.InvokeAsync(Sort == FailedGenerationSort.MostOutputTokens ? FailedGenerationSort.FewestOutputTokens : FailedGenerationSort.MostOutputTokens);

    private Task GoToAsync(int pageIndex) =>
        pageIndex == PageIndex || pageIndex < 0 || (LastPageIndex is { } last ? pageIndex > last : pageIndex > PageIndex && NoNextPage)
            ? Task.CompletedTask
            : PageIndexChanged.InvokeAsync(pageIndex);

    private Task ChangePageSizeAsync(ChangeEventArgs e) =>
        int.TryParse(e.Value as string, NumberStyles.None, CultureInfo.InvariantCulture, out var size) && PageSizes.Contains(size) && size != PageSize
            ? PageSizeChanged.InvokeAsync(size)
            : Task.CompletedTask;

    private Task ToggleRowAsync(Guid id, ChangeEventArgs e)
    {
        var selected = new HashSet<Guid>(Selected);
        if (e.Value is true)
        {
            selected.Add(id);
        }
        else
        {
            selected.Remove(id);
        }

        return SelectedChanged.InvokeAsync(selected);
    }

    private Task TogglePageAsync(ChangeEventArgs e)
    {
        var selected = new HashSet<Guid>(Selected);
        foreach (var row in Rows)
        {
            if (e.Value is true)
            {
                selected.Add(row.Id);
            }
            else
            {
                selected.Remove(row.Id);
            }
        }

        return SelectedChanged.InvokeAsync(selected);
    }
}
