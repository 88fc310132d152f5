using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.Diagnostics;
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
using BRun.Diagnostics.Infrastructure.Retention;
using BRun.Diagnostics.Simulator;
using BRun.Diagnostics.Web.Accounts;
using BRun.Diagnostics.Web.Api;
using BRun.Diagnostics.Web.Auth;
using BRun.Diagnostics.Web.Claude;
using BRun.Diagnostics.Web.Components;
using BRun.Diagnostics.Web.Datasets;
using BRun.Diagnostics.Web.Design;
using BRun.Diagnostics.Web.Failures;
using BRun.Diagnostics.Web.Retention;
using BRun.Diagnostics.Web.Runs;
using BRun.Diagnostics.Web.Styling;
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
        // Retention runs periodically here, not in `brun worker`, whose replicas are scaled for Claude calls.
        builder.Services.AddRetention(builder.Configuration, runPeriodically: true);
        builder.Services.AddLiveRunEvents(builder.Configuration);
        builder.AddServiceDefaults("brun-web");
        builder.Services.AddRunReports(builder.Configuration);

        builder.AddDiagnosticsProxySupport();
        builder.AddDiagnosticsDataProtection();
        builder.AddDiagnosticsAuthentication();
        builder.Services.AddRazorComponents().AddInteractiveServerComponents()
            .AddHubOptions(o =>
            {
                o.MaximumReceiveMessageSize = Components.CircuitLimits.MaxCircuitMessageBytes;
                o.AddFilter<Components.CircuitErrorLogFilter>();
            });
        builder.Services.AddSingleton<Components.PrerenderStateBudget>();
        builder.Services.AddSingleton<Components.CircuitErrorLogFilter>();
        builder.Services.AddSingleton<Styling.FirstPaintStylesheet>();
        builder.Services.AddHostedService<Styling.FirstPaintStylesheetWarmup>();
        // Bottom-left: a snackbar ("Run created.") must not cover the page's action buttons, which sit top-right.
        builder.Services.AddMudServices(o => o.SnackbarConfiguration.PositionClass = MudBlazor.Defaults.Classes.Position.BottomLeft);
        builder.Services.AddScoped<RunDashboardService>();
        builder.Services.AddScoped<RunAlertService>();
        builder.Services.AddScoped<FailureDashboardService>();
        builder.Services.AddScoped<Reruns.RerunService>();
        builder.Services.AddScoped<RunComparisonService>();
        builder.Services.AddScoped<DesignDashboardService>();
        builder.Services.AddDatasetDashboard();
        builder.Services.AddSingleton<ClaudeModeStatus>();
        builder.Services.AddScoped<RunReportService>();
        builder.Services.AddScoped<AccountPageService>();
        builder.Services.AddScoped<UserAdminPageService>();
        builder.Services.AddScoped<RetentionLogService>();
        builder.Services.AddSingleton<RetentionRunner>();
        builder.Services.AddProblemDetails();
        // A body an endpoint cannot bind throws, so the API can say what was wrong (ApiExceptionMiddleware) instead of
        // answering an empty 400. Elsewhere (the sign-in form) the exception handler answers with the exception's own
        // status, as before.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
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

        // An unknown page URL gets the dashboard's own not-found page (404 kept), not the browser's bare one. Machine
        // paths answer for themselves: the API with problem+json, health and metrics as they are.
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/api"), api => api.UseMiddleware<Api.ApiExceptionMiddleware>());
        app.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true);
        app.Use((context, next) =>
        {
            // A form post's error is not re-run as a page either: the re-run would read the posted form again (a refused
            // antiforgery token then throws, and a 400 became a 500).
            if ((IsMachinePath(context.Request.Path) || !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
                && context.Features.Get<IStatusCodePagesFeature>() is { } statusCodePages)
            {
                statusCodePages.Enabled = false;
            }

            return next(context);
        });

        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<CurrentUserMiddleware>();
        app.UseAntiforgery();

        // The sign-in page needs its CSS and scripts before anyone is signed in.
        app.MapStaticAssets().AllowAnonymous();
        app.MapFirstPaintStylesheet();
        app.MapAccountEndpoints();
        app.MapRunApi();
        app.MapRunCompareApi();
        app.MapRunAlertApi();
        app.MapFailedGenerationApi();
        app.MapRerunApi();
        app.MapGenerationDesignApi();
        app.MapDatasetApi();
        app.MapRetentionApi();
        app.MapServiceDefaults(app.Configuration);
        app.MapApiDocument();
        app.MapApiNotFound();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }

    private static bool IsMachinePath(PathString path) =>
        path.StartsWithSegments("/api") || path.StartsWithSegments("/healthz") || path.StartsWithSegments("/metrics")
        || path.StartsWithSegments("/openapi") || path.StartsWithSegments("/_blazor") || path.StartsWithSegments("/_framework");
}
