using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace BRun.Diagnostics.Web.Tests;

/// <summary>
/// bUnit base for dashboard components: MudBlazor services with transitions off, JS interop in loose mode, and
/// asynchronous disposal (MudBlazor's services are only IAsyncDisposable; see ENVIRONMENT.md).
/// </summary>
public abstract class DashboardTestContext : BunitContext, IAsyncLifetime
{
    protected DashboardTestContext()
    {
        Services.AddMudServices(options =>
        {
            options.SnackbarConfiguration.ShowTransitionDuration = 0;
            options.SnackbarConfiguration.HideTransitionDuration = 0;
            options.PopoverOptions.CheckForPopoverProvider = false;
        });
        JSInterop.Mode = JSRuntimeMode.Loose;
    }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => DisposeContextAsync();

    protected virtual async Task DisposeContextAsync() => await base.DisposeAsync();
}
