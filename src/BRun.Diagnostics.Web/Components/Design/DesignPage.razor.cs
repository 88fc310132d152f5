using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.Web.Design;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BRun.Diagnostics.Web.Components.Design;

/// <summary>The Design area: list, create, edit, archive and (admins) share templates and scaffolding.</summary>
public sealed partial class DesignPage
{
    private IReadOnlyList<TemplateRecord> _templates = [];
    private readonly Dictionary<ScaffoldingKind, IReadOnlyList<ScaffoldingRecord>> _scaffolding =
        ScaffoldingKinds.All.ToDictionary(k => k, _ => (IReadOnlyList<ScaffoldingRecord>)[]);
    private bool _showArchived;
    private string? _problem;

    [Inject]
    private DesignDashboardService Design { get; set; } = default!;

    [Inject]
    private IDialogService Dialogs { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    protected override Task OnInitializedAsync() => ReloadAsync();

    private async Task ReloadAsync()
    {
        _templates = await Design.ListTemplatesAsync(_showArchived, CancellationToken.None);
        foreach (var kind in ScaffoldingKinds.All)
        {
            _scaffolding[kind] = await Design.ListScaffoldingAsync(kind, _showArchived, CancellationToken.None);
        }
    }

    private async Task ShowArchivedAsync(bool value)
    {
        _showArchived = value;
        await ReloadAsync();
    }

    private Task NewTemplateAsync() => EditTemplateAsync(null);

    private async Task EditTemplateAsync(string? name)
    {
        var dialog = await Dialogs.ShowAsync<TemplateEditorDialog>(
            name is null ? "New template" : $"Edit {name}",
            new DialogParameters<TemplateEditorDialog> { { d => d.ExistingName, name } },
            new DialogOptions { MaxWidth = MaxWidth.Large, FullWidth = true, CloseOnEscapeKey = true });
        if (await dialog.Result is { Canceled: false, Data: TemplateRecord saved })
        {
            Snackbar.Add($"Saved {saved.Name} version {saved.CurrentVersion}.", Severity.Success);
            await ReloadAsync();
        }
    }

    private async Task EditScaffoldingAsync(ScaffoldingKind kind, ScaffoldingRecord? existing)
    {
        var dialog = await Dialogs.ShowAsync<ScaffoldingEditorDialog>(
            existing is null ? $"New {kind.Label()}" : $"Edit {existing.Key}",
            new DialogParameters<ScaffoldingEditorDialog> { { d => d.Kind, kind }, { d => d.Existing, existing } },
            new DialogOptions { MaxWidth = MaxWidth.Medium, FullWidth = true, CloseOnEscapeKey = true });
        if (await dialog.Result is { Canceled: false })
        {
            await ReloadAsync();
        }
    }

    private Task SetTemplateArchivedAsync(string name, bool archived) => ActAsync(() => Design.SetTemplateArchivedAsync(name, archived, CancellationToken.None));

    private Task SetTemplateSharedAsync(string name, bool shared) => ActAsync(() => Design.SetTemplateSharedAsync(name, shared, CancellationToken.None));

    private Task SetScaffoldingArchivedAsync(ScaffoldingKind kind, string key, bool archived) =>
        ActAsync(() => Design.SetScaffoldingArchivedAsync(kind, key, archived, CancellationToken.None));

    private Task SetScaffoldingSharedAsync(ScaffoldingKind kind, string key, bool shared) =>
        ActAsync(() => Design.SetScaffoldingSharedAsync(kind, key, shared, CancellationToken.None));

    private async Task ActAsync(Func<Task> action)
    {
        _problem = null;
        try
        {
            await action();
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or DesignConflictException or DesignNotFoundException)
        {
            _problem = ex.Message;
        }

        await ReloadAsync();
    }

    private static string TabTitle(ScaffoldingKind kind) => kind switch
    {
        ScaffoldingKind.Persona => "Personas",
        ScaffoldingKind.EmotionalArc => "Emotional arcs",
        _ => "Training topics",
    };

    private static string Visibility(DesignVisibility visibility, string? owner) => visibility switch
    {
        DesignVisibility.BuiltIn => "built-in",
        DesignVisibility.Shared => $"shared ({owner})",
        _ => $"private ({owner})",
    };
}
