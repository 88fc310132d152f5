using BRun.Diagnostics.Infrastructure;
using BRun.Diagnostics.Infrastructure.Claude;
using BRun.Diagnostics.Infrastructure.Pipeline;
using BRun.Diagnostics.Simulator;

namespace BRun.Diagnostics.Web;

/// <summary>Registers the dashboard's services, options and hosted services.</summary>
public static class WebHostExtensions
{
    public static IHostApplicationBuilder AddDiagnosticsWeb(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // The simulator registers first so it is listening before the worker's first call.
        builder.UseClaudeSimulatorWhenNoApiKey();
        // Database, blobs, failure stores and the report retrier; migrates at start when Database:MigrateOnStart is true.
        builder.Services.AddDiagnosticsInfrastructure(builder.Configuration);
        builder.Services.AddClaudeMessagesClient();
        builder.Services.AddGenerationPipeline(builder.Configuration);
        return builder;
    }
}
