using BRun.Diagnostics.Infrastructure;
using BRun.Diagnostics.Infrastructure.Batches;
using BRun.Diagnostics.Infrastructure.Alerts;
using BRun.Diagnostics.Infrastructure.Auth;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.ServiceDefaults;
using BRun.Diagnostics.Infrastructure.Live;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Reports;
using BRun.Diagnostics.Simulator;
using BRun.Diagnostics.Web.Api;
using BRun.Diagnostics.Web.Auth;
using BRun.Diagnostics.Web.Claude;
using BRun.Diagnostics.Web.Components;
using BRun.Diagnostics.Web.Datasets;
using BRun.Diagnostics.Web.Design;
using BRun.Diagnostics.Web.Failures;
using BRun.Diagnostics.Web.Runs;
using MudBlazor.Services;

namespace BRun.Diagnostics.Web;

/// <summary>Registers the dashboard's services, options and hosted services, and maps its endpoints.</summary>
public static class WebHostExtensions
{
    public static IHostApplicationBuilder AddDiagnosticsWeb(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // The simulator registers first so it is listening before the worker's first call.
        builder.UseClaudeSimulatorInDemoMode();
        // Database, blobs, failure stores and the report retrier; migrates at start when Database:MigrateOnStart is true.
        builder.Services.AddDiagnosticsInfrastructure(builder.Configuration);
        builder.Services.AddClaudeMessagesClient();
        builder.Services.AddGenerationPipeline(builder.Configuration);
        builder.Services.AddBatchMode(builder.Configuration);
        builder.Services.AddPromptPreview();
        // Alert store and the webhook sender (alerts themselves are raised by database triggers).
        builder.Services.AddRunAlerts(builder.Configuration);
        builder.Services.AddDiagnosticsAccounts(builder.Configuration);
        builder.Services.AddLiveRunEvents(builder.Configuration);
        builder.AddServiceDefaults("brun-web");
        builder.Services.AddRunReports(builder.Configuration);

        builder.AddDiagnosticsProxySupport();
        builder.AddDiagnosticsDataProtection();
        builder.AddDiagnosticsAuthentication();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddMudServices();
        builder.Services.AddScoped<RunDashboardService>();
        builder.Services.AddScoped<RunAlertService>();
        builder.Services.AddScoped<FailureDashboardService>();
        builder.Services.AddScoped<DesignDashboardService>();
        builder.Services.AddDatasetDashboard();
        builder.Services.AddSingleton<ClaudeModeStatus>();
        builder.Services.AddScoped<RunReportService>();
        builder.Services.AddProblemDetails();
        builder.Services.AddApiDocument();
        return builder;
    }

    public static WebApplication UseDiagnosticsWeb(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // First: everything after it (the sign-in throttle, redirects, cookies' Secure flag) sees the client's address and scheme.
        app.UseDiagnosticsProxySupport();
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/Error", createScopeForErrors: true);
        }

        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<CurrentUserMiddleware>();
        app.UseAntiforgery();

        // The sign-in page needs its CSS and scripts before anyone is signed in.
        app.MapStaticAssets().AllowAnonymous();
        app.MapAccountEndpoints();
        app.MapRunApi();
        app.MapRunAlertApi();
        app.MapFailedGenerationApi();
        app.MapGenerationDesignApi();
        app.MapDatasetApi();
        app.MapServiceDefaults(app.Configuration);
        app.MapApiDocument();
        app.MapApiNotFound();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }
}
