using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.Web.Design;
using Bunit;
using Microsoft.Extensions.Configuration;
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
        Services.AddSingleton(new Components.PrerenderStateBudget(Microsoft.Extensions.Logging.Abstractions.NullLogger<Components.PrerenderStateBudget>.Instance));
    }

    /// <summary>
    /// Registers the design services (store, reader, preview, the scoped dashboard service). The preview's Claude
    /// client points at <paramref name="claudeBaseUrl"/> (a simulator), or at a closed port when the test needs none.
    /// </summary>
    protected void RegisterDesignServices(string claudeBaseUrl = "http://127.0.0.1:9")
    {
        Services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        Services.AddClaudeMessagesClient(o => o.BaseUrl = claudeBaseUrl);
        Services.AddPromptPreview();
        Services.AddScoped<DesignDashboardService>();
    }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    Task IAsyncLifetime.DisposeAsync() => DisposeContextAsync();

    protected virtual async Task DisposeContextAsync() => await base.DisposeAsync();
}
