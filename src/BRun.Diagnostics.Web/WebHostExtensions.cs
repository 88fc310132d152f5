using BRun.Diagnostics.Infrastructure;

namespace BRun.Diagnostics.Web;

/// <summary>Registers the dashboard's services, options and hosted services.</summary>
public static class WebHostExtensions
{
    public static IHostApplicationBuilder AddDiagnosticsWeb(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // Database, blobs, failure stores and the report retrier; migrates at start when Database:MigrateOnStart is true.
        builder.Services.AddDiagnosticsInfrastructure(builder.Configuration);
        return builder;
    }
}
