using System.Data.Common;
using BRun.Diagnostics.Infrastructure.Live;
using Microsoft.AspNetCore.Components;

namespace BRun.Diagnostics.Web.Components.Runs;

/// <summary>
/// A page that shows database state and reloads it when a live event batch concerns it. Events carry only ids, so
/// the reload re-reads under the signed-in user (row-level security applies to live data too).
/// </summary>
public abstract class LiveReloadingComponentBase : ComponentBase, IDisposable
{
    private readonly CancellationTokenSource _disposed = new();
    private IDisposable? _subscription;

    [Inject]
    private LiveEventHub Hub { get; set; } = default!;

    protected bool Loading { get; private set; } = true;

    /// <summary>Why the shown state may be stale, or null.</summary>
    protected string? Problem { get; private set; }

    /// <summary>
    /// True once the component rendered in an interactive circuit (never during prerendering). Pages put it in a
    /// <c>data-interactive</c> attribute, so browser tests click only when a click can be handled.
    /// </summary>
    protected bool Interactive { get; private set; }

    /// <summary>Cancelled when the component goes away.</summary>
    protected CancellationToken Disposed => _disposed.Token;

    public void Dispose()
    {
        _subscription?.Dispose();
        _disposed.Cancel();
        _disposed.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Whether a batch may change what this page shows.</summary>
    protected abstract bool Concerns(LiveEventBatch batch);

    /// <summary>Reads the page's state.</summary>
    protected abstract Task LoadAsync(CancellationToken cancellationToken);

    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender)
        {
            Interactive = true;
            StateHasChanged();
        }
    }

    protected void FollowLiveEvents() => _subscription ??= Hub.Subscribe(OnLiveEventsAsync);

    protected async Task ReloadAsync()
    {
        try
        {
            await LoadAsync(_disposed.Token);
            Problem = null;
        }
        catch (DbException)
        {
            // The database is away (restart): keep showing the last state; the listener resyncs when it is back.
            Problem = "Could not reach the database; showing the last known state.";
        }
        finally
        {
            Loading = false;
        }
    }

    private async Task OnLiveEventsAsync(LiveEventBatch batch)
    {
        if (!Concerns(batch))
        {
            return;
        }

        try
        {
            await InvokeAsync(async () =>
            {
                await ReloadAsync();
                StateHasChanged();
            });
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await DispatchExceptionAsync(ex);
        }
    }
}
