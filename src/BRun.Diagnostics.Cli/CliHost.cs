using BRun.Diagnostics.Infrastructure;
using BRun.Diagnostics.Infrastructure.Batches;
using BRun.Diagnostics.Infrastructure.Alerts;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Design;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Infrastructure.Reports;
using BRun.Diagnostics.Infrastructure.Retention;
using BRun.Diagnostics.ServiceDefaults;
using BRun.Diagnostics.Simulator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Cli;

/// <summary>
/// Builds the host behind a command. Configuration comes from the usual .NET sources (appsettings.json,
/// environment variables such as <c>ConnectionStrings__Postgres</c>, <c>ANTHROPIC_API_KEY</c>), as in the web host.
/// </summary>
internal static class CliHost
{
    /// <summary>Data access only: for short commands that read or write runs and users. Logs warnings and up to stderr.</summary>
    public static IHost BuildForData(IEnumerable<KeyValuePair<string, string?>>? overrides = null)
    {
        var builder = CreateBuilder(overrides, LogLevel.Warning);
        builder.Configuration["Worker:Enabled"] = "false";
        builder.Services.AddDiagnosticsInfrastructure(builder.Configuration);
        builder.Services.AddGenerationPipeline(builder.Configuration);
        builder.Services.AddBatchMode(builder.Configuration);
        builder.Services.AddRunReports(builder.Configuration);
        builder.Services.AddRetention(builder.Configuration, runPeriodically: false);
        return builder.Build();
    }

    /// <summary>
    /// Data access plus the Claude client (or the in-process simulator when no key is set) for previews that call
    /// count_tokens. Start the host before use, so the simulator is listening.
    /// </summary>
    public static IHost BuildForPreview()
    {
        var builder = CreateBuilder(null, LogLevel.Warning);
        builder.Configuration["Worker:Enabled"] = "false";
        builder.UseClaudeSimulatorInDemoMode();
        builder.Services.AddDiagnosticsInfrastructure(builder.Configuration);
        builder.Services.AddClaudeMessagesClient();
        builder.Services.AddGenerationPipeline(builder.Configuration);
        builder.Services.AddPromptPreview();
        return builder.Build();
    }

    /// <summary>The full worker: queue, Claude client (or the simulator when no key is set), report retries.</summary>
    /// <param name="overrides">Configuration values that win over every source.</param>
    /// <param name="configure">Last changes to the builder (tests add a log sink here).</param>
    public static IHost BuildWorker(IEnumerable<KeyValuePair<string, string?>>? overrides = null, Action<HostApplicationBuilder>? configure = null)
    {
        var builder = CreateBuilder(overrides, LogLevel.Information);
        builder.Configuration["Worker:Enabled"] = "true";
        builder.UseClaudeSimulatorInDemoMode();
        builder.Services.AddDiagnosticsInfrastructure(builder.Configuration);
        builder.Services.AddClaudeMessagesClient();
        builder.Services.AddGenerationPipeline(builder.Configuration);
        builder.Services.AddBatchMode(builder.Configuration);
        builder.Services.AddRunAlerts(builder.Configuration);
        builder.AddServiceDefaults("brun-worker");
        builder.AddHealthProbeServer();
        configure?.Invoke(builder);
        return builder.Build();
    }

    private static HostApplicationBuilder CreateBuilder(IEnumerable<KeyValuePair<string, string?>>? overrides, LogLevel minimum)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = AppContext.BaseDirectory,
            DisableDefaults = false,
        });
        if (overrides is not null)
        {
            foreach (var (key, value) in overrides)
            {
                builder.Configuration[key] = value;
            }
        }

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);

        // stdout carries command results (a run id, JSON); logs go to stderr.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(minimum);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        builder.Logging.AddFilter("Npgsql", LogLevel.Warning);
        return builder;
    }
}
